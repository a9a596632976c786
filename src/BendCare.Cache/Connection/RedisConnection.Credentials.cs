using BendCare.Cache.Diagnostics;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// Credentials that rotate or expire. StackExchange.Redis takes a connection's user and password from its
/// <see cref="ConfigurationOptions"/> at each (re)connect and has no hook that asks for them, so the library asks its
/// credentials provider itself: before each multiplexer it builds; again, building the next multiplexer with what it
/// returns, when the server rejects the credentials on a connection attempt (WRONGPASS/NOAUTH, seen through
/// <see cref="ConfigurationOptions.ConnectionAttemptCompleted"/>, which reports every attempt); every
/// <see cref="BendCareCacheOptions.CredentialsRefreshInterval"/>, handing the fresh credentials to the current
/// multiplexer's configuration for its own reconnects; and when <see cref="BendCareCacheOptions.MaxConnectionAge"/> is
/// reached, replacing a working multiplexer by one that is connected before it is put in use. Requests never wait
/// for any of it.
/// </summary>
internal sealed partial class RedisConnection
{
    private static readonly TimeSpan MaxRenewalBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstRenewalBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RefreshRetry = TimeSpan.FromSeconds(30);

    private int _renewalWanted;
    private long _lastRenewal;
    private long _renewalBackoffTicks;
    private long _attachedAt;
    private long _nextRefreshAt;
    private int _refreshing;

    private void OnConnectionAttemptCompleted(object? sender, ConnectionAttemptCompletedEventArgs e)
    {
        if (e.IsSuccess)
        {
            // Credentials that work end the back-off: the next rejection renews at once again.
            Volatile.Write(ref _renewalBackoffTicks, 0);
            return;
        }

        // The client also labels a failed TLS handshake an authentication failure; only the Redis handshake's is ours.
        if ((e.FailureType == ConnectionFailureType.AuthenticationFailure && e.Stage == ConnectionAttemptStage.Handshake)
            || (e.Exception is { } exception && FailureClassifier.Classify(exception) == FailureReason.Auth))
        {
            OnCredentialsRejected();
        }
    }

    /// <summary>The server rejected the credentials: with a provider, the next multiplexer is built with fresh ones.</summary>
    private void OnCredentialsRejected()
    {
        // While a connect runs, rejections come from the multiplexer it replaces; the new one's first attempt is judged
        // when it is attached, its later ones by this handler again.
        if (!_credentials.IsRotating || !_ownsMultiplexer || Volatile.Read(ref _connecting) == 1)
        {
            return;
        }

        Volatile.Write(ref _renewalWanted, 1);
        MaybeRenewForCredentials();
    }

    /// <summary>Starts the renewal a rejection asked for: at once the first time, then with a back-off while rejections go on.</summary>
    private void MaybeRenewForCredentials()
    {
        if (Volatile.Read(ref _renewalWanted) == 0 || _disposed.IsCancellationRequested)
        {
            return;
        }

        long now = _time.GetTimestamp();
        long last = Volatile.Read(ref _lastRenewal);
        var backoff = TimeSpan.FromTicks(Volatile.Read(ref _renewalBackoffTicks));
        if ((last != 0 && _time.GetElapsedTime(last, now) < backoff) || Interlocked.CompareExchange(ref _lastRenewal, now, last) != last)
        {
            return;
        }

        if (!StartConnect(ConnectReason.Replace))
        {
            // A connect is still finishing: the next tick tries again.
            Interlocked.CompareExchange(ref _lastRenewal, last, now);
            return;
        }

        Volatile.Write(ref _renewalWanted, 0);
        Volatile.Write(ref _renewalBackoffTicks, Math.Clamp(backoff.Ticks * 2, FirstRenewalBackoff.Ticks, MaxRenewalBackoff.Ticks));
        Log.ConnectionRenewed(_logger, Endpoint, "the server rejected the credentials, so the new one gets fresh ones from the credentials provider");
        _metrics.Reconnect();
    }

    /// <summary>Replaces a multiplexer older than <see cref="BendCareCacheOptions.MaxConnectionAge"/>, at most once per <see cref="BendCareCacheOptions.MinReconnectInterval"/>.</summary>
    private void MaybeRenewByAge()
    {
        if (_options.MaxConnectionAge is not { } maxAge || !_ownsMultiplexer || _multiplexer is null)
        {
            return;
        }

        long now = _time.GetTimestamp();
        long last = Volatile.Read(ref _lastReplacement);
        if (_time.GetElapsedTime(Volatile.Read(ref _attachedAt), now) < maxAge
            || _time.GetElapsedTime(last, now) < _options.MinReconnectInterval
            || Interlocked.CompareExchange(ref _lastReplacement, now, last) != last)
        {
            return;
        }

        if (!StartConnect(ConnectReason.Renew))
        {
            Interlocked.CompareExchange(ref _lastReplacement, last, now);
            return;
        }

        Log.ConnectionRenewed(_logger, Endpoint, "the current one reached MaxConnectionAge (the new one, with fresh credentials when a provider is configured, is used once connected)");
    }

    /// <summary>Asks the provider again in <paramref name="after"/>, when a refresh interval is configured.</summary>
    private void ScheduleCredentialsRefresh(TimeSpan after)
    {
        if (_options.CredentialsRefreshInterval is not null && _credentials.IsRotating)
        {
            Volatile.Write(ref _nextRefreshAt, _time.GetTimestamp() + (long)(after.TotalSeconds * _time.TimestampFrequency));
        }
    }

    private void MaybeRefreshCredentials()
    {
        long next = Volatile.Read(ref _nextRefreshAt);
        if (next == 0 || _time.GetTimestamp() < next || _config is not { } config || Interlocked.Exchange(ref _refreshing, 1) == 1)
        {
            return;
        }

        _ = RefreshCredentialsAsync(config, _options.CredentialsRefreshInterval!.Value);
    }

    private async Task RefreshCredentialsAsync(ConfigurationOptions config, TimeSpan interval)
    {
        try
        {
            var (credentials, failure) = await _credentials.GetAsync(_disposed.Token).ConfigureAwait(false);
            if (credentials is null)
            {
                // The current connection keeps working; its reconnects use the credentials it has until a refresh succeeds.
                _failures.RecordCredentialsFailure(failure!);
                ScheduleCredentialsRefresh(interval < RefreshRetry ? interval : RefreshRetry);
                return;
            }

            _failures.MaskAlso(credentials.Password);

            // The multiplexer reads these at each of its reconnects (its configuration is not copied); the connections
            // already open stay authenticated as they are.
            config.User = credentials.Username;
            config.Password = credentials.Password;
            ScheduleCredentialsRefresh(interval);
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }
}
