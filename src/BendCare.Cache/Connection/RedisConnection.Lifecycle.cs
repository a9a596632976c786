using BendCare.Cache.Diagnostics;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// Connecting in the background (credentials first), attaching and retiring multiplexers, and disposal that never waits
/// on Redis and never closes a multiplexer the application supplied.
/// </summary>
internal sealed partial class RedisConnection
{
    private int _connecting;
    private long _lastReplacement;

    /// <summary>Raised when a multiplexer takes over the request path (the first one, or a replacement).</summary>
    internal event Action<IConnectionMultiplexer>? MultiplexerAttached;

    /// <summary>Why a multiplexer is being built.</summary>
    private enum ConnectReason
    {
        /// <summary>The very first one.</summary>
        First,

        /// <summary>The current one stayed broken (<see cref="BendCareCacheOptions.ReconnectAfter"/>) or its credentials were rejected: replace it at once.</summary>
        Replace,

        /// <summary>
        /// The current one works but reached <see cref="BendCareCacheOptions.MaxConnectionAge"/>: put the new one in use only
        /// once it is connected, and on any failure keep the current one.
        /// </summary>
        Renew,
    }

    /// <summary>
    /// Starts a background connect unless one is running (its last steps may still be finishing) or the multiplexer is
    /// the application's; returns whether it started one.
    /// </summary>
    private bool StartConnect(ConnectReason reason)
    {
        if (!_ownsMultiplexer || Interlocked.Exchange(ref _connecting, 1) == 1)
        {
            return false;
        }

        _ = Task.Run(() => ConnectAsync(reason));
        return true;
    }

    private async Task ConnectAsync(ConnectReason reason)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        try
        {
            while (!_disposed.IsCancellationRequested)
            {
                try
                {
                    var (credentials, failure) = await _credentials.GetAsync(_disposed.Token).ConfigureAwait(false);
                    if (credentials is null)
                    {
                        _failures.RecordCredentialsFailure(failure!);
                    }
                    else if (await BuildAsync(credentials, reason).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                catch (Exception ex) when (!_disposed.IsCancellationRequested)
                {
                    // AbortOnConnectFail=false returns a multiplexer even when the server is down; getting here means
                    // something like an unparsable endpoint. Keep trying, quietly, with a capped back-off.
                    _failures.Record(FailureClassifier.Classify(ex), ex);
                }

                if (reason == ConnectReason.Renew)
                {
                    // The current multiplexer still works: keep it, and try again after MinReconnectInterval.
                    return;
                }

                _breakers.Main.Trip();
                EndFirstConnect();
                await Task.Delay(delay, _time, _disposed.Token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed while connecting.
        }
        finally
        {
            Volatile.Write(ref _connecting, 0);
        }
    }

    /// <summary>Builds a multiplexer with <paramref name="credentials"/> and puts it in use; false when a renewal's new one did not connect.</summary>
    private async Task<bool> BuildAsync(RedisCredentials credentials, ConnectReason reason)
    {
        _failures.MaskAlso(credentials.Password);
        var config = RedisConfigurationFactory.Create(_options, credentials);

        // Subscribed before connecting, so the first attempt's rejection is seen too.
        config.ConnectionAttemptCompleted += OnConnectionAttemptCompleted;
        using var connectLog = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        IConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await _factory(config, connectLog).ConfigureAwait(false);
        }
        catch
        {
            config.ConnectionAttemptCompleted -= OnConnectionAttemptCompleted;
            throw;
        }

        Interlocked.Increment(ref _multiplexersCreated);
        if (reason == ConnectReason.Renew && !multiplexer.IsConnected)
        {
            config.ConnectionAttemptCompleted -= OnConnectionAttemptCompleted;
            Close(multiplexer, "close renewal that did not connect");
            Log.BackgroundOperationFailed(_logger, "renew connection", "the new connection did not connect; the current one is kept");
            return false;
        }

        if (_options.CredentialsRefreshInterval is { } interval)
        {
            ScheduleCredentialsRefresh(interval);
        }

        Attach(multiplexer, config, connectLog.ToString());
        return true;
    }

    /// <summary>Puts <paramref name="multiplexer"/> in use; <paramref name="config"/> is null for the application's own.</summary>
    private void Attach(IConnectionMultiplexer multiplexer, ConfigurationOptions? config, string? connectLog)
    {
        IConnectionMultiplexer? previous;
        ConfigurationOptions? previousConfig;
        lock (_attachGate)
        {
            // Under the lock disposal takes too: a connection built while disposing is never left behind.
            if (_disposed.IsCancellationRequested)
            {
                if (_ownsMultiplexer)
                {
                    multiplexer.Dispose();
                }

                return;
            }

            multiplexer.ConnectionFailed += OnConnectionFailed;
            multiplexer.ConnectionRestored += OnConnectionRestored;
            multiplexer.ConfigurationChanged += OnTopologyChanged;
            multiplexer.HashSlotMoved += OnHashSlotMoved;
            previous = _multiplexer;
            previousConfig = _config;
            _multiplexer = multiplexer;
            _config = config;
            _database = multiplexer.GetDatabase();
        }

        long now = _time.GetTimestamp();
        Volatile.Write(ref _lastReplacement, now);
        Volatile.Write(ref _attachedAt, now);
        MultiplexerAttached?.Invoke(multiplexer);

        if (multiplexer.IsConnected)
        {
            RebuildRouting(multiplexer);
            MarkConnected(multiplexer);
            AllowProbesNow();
        }
        else if (connectLog is null)
        {
            _failures.RecordDescription(FailureReason.Disconnected, "the connection supplied by the application is not connected");
            _breakers.Main.Trip();
        }
        else
        {
            // The failure events of the first attempt fire before we can subscribe; the client's connect log says why
            // (it is only classified, never kept: it names commands and keys).
            var reason = FailureClassifier.ClassifyConnectLog(connectLog, _options.UseTls);
            _failures.RecordDescription(reason, "the first connection attempt failed");
            _breakers.Main.Trip();
            if (reason == FailureReason.Auth && _credentials.IsRotating)
            {
                // Still inside the connect that built it: the next tick starts the renewal.
                Volatile.Write(ref _renewalWanted, 1);
            }
        }

        EndFirstConnect();
        if (previous is not null)
        {
            _ = RetireAsync(previous, previousConfig);
        }
    }

    private async Task RetireAsync(IConnectionMultiplexer old, ConfigurationOptions? oldConfig)
    {
        Detach(old, oldConfig);
        try
        {
            // Callers that picked the old database just before the swap finish (or time out) first; disposal ends the wait.
            await Task.Delay(_options.OperationTimeout + _options.OperationTimeout, _time, _disposed.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Disposing: close it now.
        }

        Close(old, "close replaced connection");
    }

    private void Detach(IConnectionMultiplexer multiplexer, ConfigurationOptions? config)
    {
        multiplexer.ConnectionFailed -= OnConnectionFailed;
        multiplexer.ConnectionRestored -= OnConnectionRestored;
        multiplexer.ConfigurationChanged -= OnTopologyChanged;
        multiplexer.HashSlotMoved -= OnHashSlotMoved;
        if (config is not null)
        {
            config.ConnectionAttemptCompleted -= OnConnectionAttemptCompleted;
        }
    }

    /// <summary>
    /// Synchronous disposal for containers disposed with <c>Dispose()</c> (console apps, <c>using var provider</c>):
    /// never blocks on asynchronous work and never waits for a server. Commands in flight fail at once (their callers
    /// use the loader); sockets are closed in place.
    /// </summary>
    public void Dispose()
    {
        EndFirstConnect();

        // The application's multiplexer is the application's to close: only the library's own is closed here.
        if (BeginDispose() is { } multiplexer && _ownsMultiplexer)
        {
            Close(multiplexer, "close connection");
        }
    }

    public ValueTask DisposeAsync()
    {
        // Closing without letting commands complete sends nothing and waits for nothing: there is no asynchronous work
        // worth awaiting, so both disposals do the same.
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Marks the connection disposed and takes its multiplexer away from the request path; null when already disposed.</summary>
    private IConnectionMultiplexer? BeginDispose()
    {
        IConnectionMultiplexer? multiplexer;
        ConfigurationOptions? config;
        lock (_attachGate)
        {
            if (_disposed.IsCancellationRequested)
            {
                return null;
            }

            _disposed.Cancel();
            multiplexer = _multiplexer;
            config = _config;
            _database = null;
            _multiplexer = null;
            _config = null;
        }

        _timer?.Dispose();
        _deadlines.Dispose();
        if (multiplexer is not null)
        {
            Detach(multiplexer, config);
        }

        return multiplexer;
    }

    /// <summary>Closes without QUIT and without waiting for replies (no server can hold it up), then disposes.</summary>
    private void Close(IConnectionMultiplexer multiplexer, string operation)
    {
        try
        {
            multiplexer.Close(allowCommandsToComplete: false);
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, operation, ex.GetType().Name);
        }

        try
        {
            multiplexer.Dispose();
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, operation, ex.GetType().Name);
        }
    }
}
