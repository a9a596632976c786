using System.Net;
using BendCare.Cache.Diagnostics;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// The background tick (every 250 ms): probes each open breaker with its own PING, replaces a multiplexer that stays
/// in trouble, runs the registered background work and the eviction watch. Nothing here runs on a request.
/// </summary>
internal sealed partial class RedisConnection
{
    private static readonly TimeSpan NotReplacedWarningInterval = TimeSpan.FromMinutes(5);

    private long _lastTopologyRefresh;
    private int _refreshingTopology;
    private long _lastNotReplacedWarning;

    private void OnTick()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        MaybeReplaceMultiplexer();
        MaybeRenewForCredentials();
        MaybeRenewByAge();
        MaybeRefreshCredentials();
        var multiplexer = _multiplexer;
        if (multiplexer is null || !multiplexer.IsConnected)
        {
            return;
        }

        // The client follows the cluster's topology on its own; pick up what it learnt (no network call, and nothing is
        // rebuilt unless its configuration changed).
        RebuildRouting(multiplexer);

        // A breaker is open and the client has a connection: one PING to that endpoint tells whether it answers again.
        foreach (var (endpoint, breaker) in _breakers.All)
        {
            if (breaker.State != BreakerState.Closed && breaker.TryStartProbe())
            {
                _ = ProbeAsync(multiplexer, endpoint, breaker);
            }
        }

        _background.TryStart(_disposed.Token);
        _evictions.MaybeCheck(multiplexer, _disposed.Token);
    }

    /// <summary>A PING bounded by the operation timeout, off the request path; its outcome closes or re-opens the breaker.</summary>
    private async Task ProbeAsync(IConnectionMultiplexer multiplexer, EndPoint? endpoint, CircuitBreaker breaker)
    {
        Task<TimeSpan>? ping = null;
        try
        {
            ping = endpoint is null ? multiplexer.GetDatabase().PingAsync() : multiplexer.GetServer(endpoint).PingAsync();
            await ping.WaitAsync(_timerTimeout, _time).ConfigureAwait(false);
            OnProbeAnswered(breaker, endpoint, ping.Result);
        }
        catch (Exception ex)
        {
            if (ping is { IsCompletedSuccessfully: true })
            {
                // The reply arrived; only its continuation was late (a busy machine): the client's own latency judges it.
                OnProbeAnswered(breaker, endpoint, ping.Result);
                return;
            }

            if (ping is { IsCompleted: false })
            {
                _ = ping.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                _ = OnTimedOut<TimeSpan>(breaker, "probe", default);
            }
            else
            {
                _ = OnFailed<TimeSpan>(breaker, ping?.Exception?.InnerException ?? ex, "probe", default, ReplySpeed.Prompt);
            }

            if (endpoint is not null)
            {
                if (_breakers.FollowClientRouting(multiplexer, endpoint))
                {
                    OnBreakerClosed();
                    return;
                }

                // A dead primary stays dead: its slots come back only on the replica the cluster promotes, and the client
                // learns that only when it reads the topology again. Nothing else makes it do so while no request goes there.
                _ = RefreshTopologyAsync(multiplexer);
            }
        }
    }

    /// <summary>
    /// The probe's PING was answered. Its latency is the client's own measure (taken on its reader, so a late
    /// continuation here is not in it). An answer slower than half the operation timeout closes the breaker primed (see
    /// <see cref="CircuitBreaker.OnProbeSuccess"/>): closing it plainly made it flap on a Redis that stays slow, each
    /// closing sending a threshold's worth of requests back to wait their whole budget; holding it open would disable
    /// the cache for good on a Redis whose round trip is merely long. An answer that took as long as the probe's own
    /// wait (the operation timeout less its slack; only its continuation ran late, so the wait did not end it) is a
    /// failed probe: a request would have timed out on it.
    /// </summary>
    private void OnProbeAnswered(CircuitBreaker breaker, EndPoint? endpoint, TimeSpan latency)
    {
        if (latency >= _timerTimeout)
        {
            _ = OnTimedOut<TimeSpan>(breaker, "probe", default);
            return;
        }

        bool slow = latency.TotalSeconds * _time.TimestampFrequency >= _slowReplyTimestampTicks;
        if (slow)
        {
            Log.ProbeAnsweredSlowly(_logger, endpoint?.ToString() ?? "the server", latency.TotalMilliseconds);
        }

        breaker.OnProbeSuccess(slow);
    }

    /// <summary>Makes the client re-read the cluster's topology (single-flight, at most once per open period cap), then routes by it.</summary>
    private async Task RefreshTopologyAsync(IConnectionMultiplexer multiplexer)
    {
        long now = _time.GetTimestamp();
        long last = Volatile.Read(ref _lastTopologyRefresh);
        if ((last != 0 && _time.GetElapsedTime(last, now) < _options.BreakerMaxOpenDuration)
            || Interlocked.CompareExchange(ref _lastTopologyRefresh, now, last) != last
            || Interlocked.Exchange(ref _refreshingTopology, 1) == 1)
        {
            return;
        }

        try
        {
            await multiplexer.ConfigureAsync().WaitAsync(_options.ConnectTimeout, _time, _disposed.Token).ConfigureAwait(false);
            RebuildRouting(multiplexer, force: true);
            foreach (var (endpoint, breaker) in _breakers.All)
            {
                if (endpoint is not null && breaker.State != BreakerState.Closed && _breakers.FollowClientRouting(multiplexer, endpoint))
                {
                    OnBreakerClosed();
                }
            }
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, "refresh cluster topology", ex.GetType().Name);
        }
        finally
        {
            Volatile.Write(ref _refreshingTopology, 0);
        }
    }

    /// <summary>
    /// A multiplexer can report itself connected while every operation on it fails or hangs (a known failure mode
    /// after failovers and half-dead sockets). When the connection has been in trouble for
    /// <see cref="BendCareCacheOptions.ReconnectAfter"/> — a breaker not closed, or flapping without ever staying closed
    /// for <see cref="TroubleClock.StablePeriod"/> — build a fresh one, at most once per
    /// <see cref="BendCareCacheOptions.MinReconnectInterval"/>. The application's own multiplexer is never replaced: a
    /// Warning says so instead.
    /// </summary>
    private void MaybeReplaceMultiplexer()
    {
        if (_multiplexer is null || _trouble.InTroubleFor() is not { } inTrouble || inTrouble < _options.ReconnectAfter)
        {
            return;
        }

        if (!_ownsMultiplexer)
        {
            if (LogThrottle.TryClaim(_time, ref _lastNotReplacedWarning, NotReplacedWarningInterval))
            {
                Log.ApplicationConnectionNotReplaced(_logger, Endpoint, inTrouble.TotalSeconds);
            }

            return;
        }

        long now = _time.GetTimestamp();
        long last = Volatile.Read(ref _lastReplacement);
        if (_time.GetElapsedTime(last, now) < _options.MinReconnectInterval)
        {
            return;
        }

        // The timer and the client's event threads both get here: one wins the replacement; a connect still finishing
        // gives the slot back and leaves this to the next tick.
        if (Interlocked.CompareExchange(ref _lastReplacement, now, last) != last)
        {
            return;
        }

        if (!StartConnect(ConnectReason.Replace))
        {
            Interlocked.CompareExchange(ref _lastReplacement, last, now);
            return;
        }

        Log.ForcedReconnect(_logger, Endpoint, inTrouble.TotalSeconds);
        _metrics.Reconnect();
    }
}
