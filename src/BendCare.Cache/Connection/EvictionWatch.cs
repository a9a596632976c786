using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// Freshness assumes the server never evicts our keys: an evicted tombstone, role set or epoch lets a stale
/// compare-and-set through. Every few seconds, off the request path, reads <c>INFO stats</c> of each primary and
/// reports growth of <c>evicted_keys</c>: the <c>bendcare.cache.server.evictions</c> counter, a Warning (at most every
/// few minutes) and a Degraded health check while evictions were seen recently.
/// </summary>
internal sealed class EvictionWatch
{
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan InfoTimeout = TimeSpan.FromSeconds(1);

    private readonly ILogger _logger;
    private readonly CacheMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly TimeSpan _checkInterval;
    private readonly TimeSpan _recentWindow;
    private readonly Dictionary<string, long> _lastCount = new(StringComparer.Ordinal);
    private long _lastCheck;
    private long _lastSeen;
    private long _lastWarning;
    private long _total;
    private int _running;
    private int _blind;
    private long _lastBlindWarning;
    private long _lastRestartWarning;

    public EvictionWatch(ILogger logger, CacheMetrics metrics, TimeProvider time, TimeSpan checkInterval, TimeSpan recentWindow)
    {
        _checkInterval = checkInterval;
        _recentWindow = recentWindow;
        _logger = logger;
        _metrics = metrics;
        _time = time;
    }

    /// <summary>Keys the servers evicted since this process started watching.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>Whether evictions were seen within <see cref="BendCareCacheOptions.EvictionRecentWindow"/>.</summary>
    public bool SeenRecently
    {
        get
        {
            long last = Volatile.Read(ref _lastSeen);
            return last != 0 && _time.GetElapsedTime(last) < _recentWindow;
        }
    }

    /// <summary>Starts a check when the interval is over and none is running; returns at once.</summary>
    public void MaybeCheck(IConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        long now = _time.GetTimestamp();
        long last = Volatile.Read(ref _lastCheck);
        if ((last != 0 && _time.GetElapsedTime(last, now) < _checkInterval) || Interlocked.Exchange(ref _running, 1) == 1)
        {
            return;
        }

        Volatile.Write(ref _lastCheck, now);
        _ = CheckAsync(multiplexer, cancellationToken);
    }

    private async Task CheckAsync(IConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        try
        {
            long grown = 0;
            bool restarted = false;
            string? failure = null;
            foreach (var server in multiplexer.GetServers())
            {
                if (!server.IsConnected || server.IsReplica)
                {
                    continue;
                }

                // Each server on its own: one that does not answer must not hide the others.
                string? reply;
                try
                {
                    reply = await server.InfoRawAsync("stats").WaitAsync(InfoTimeout, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    failure = ex is RedisServerException rse ? Redact.FirstLine(rse.Message, password: null, maxLength: 80) : ex.GetType().Name;
                    continue;
                }

                // A server that reports no eviction counter (Garnet) has nothing to watch: not a failure of the watch.
                if (ServerInfo.Parse(reply).EvictedKeys is not { } evicted)
                {
                    continue;
                }

                string endpoint = server.EndPoint.ToString() ?? "";
                if (_lastCount.TryGetValue(endpoint, out long previous))
                {
                    if (evicted >= previous)
                    {
                        grown += evicted - previous;
                    }
                    else
                    {
                        // The counter went back: the server restarted (or its stats were reset). A restart without
                        // persistence loses every tombstone, member set and the epoch, just as evictions do; and what
                        // it evicted since then counts too.
                        grown += evicted;
                        restarted = true;
                    }
                }

                _lastCount[endpoint] = evicted;
            }

            if (grown > 0 || restarted)
            {
                Report(grown, restarted);
            }

            ReportWatchState(failure);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception ex)
        {
            ReportWatchState(ex.GetType().Name);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Whether the last check could not read every primary's counter: freshness is then unwatched.</summary>
    public bool IsBlind => Volatile.Read(ref _blind) != 0;

    private void ReportWatchState(string? failure)
    {
        if (failure is null)
        {
            Volatile.Write(ref _blind, 0);
            return;
        }

        Volatile.Write(ref _blind, 1);
        if (LogThrottle.TryClaim(_time, ref _lastBlindWarning, WarningInterval))
        {
            Log.EvictionWatchBlind(_logger, failure);
        }
    }

    private void Report(long evicted, bool restarted)
    {
        long now = _time.GetTimestamp();
        Volatile.Write(ref _lastSeen, now);
        long total = Interlocked.Add(ref _total, evicted);
        if (evicted > 0)
        {
            _metrics.ServerEvictions(evicted);
        }

        // Evictions and restarts are throttled apart: one must not hide the other.
        if (LogThrottle.TryClaim(_time, ref restarted ? ref _lastRestartWarning : ref _lastWarning, WarningInterval))
        {
            if (restarted)
            {
                Log.ServerRestarted(_logger, evicted);
            }
            else
            {
                Log.ServerEvictions(_logger, evicted, total);
            }
        }
    }
}
