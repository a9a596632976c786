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
    private int _unavailableLogged;

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
            foreach (var server in multiplexer.GetServers())
            {
                if (!server.IsConnected || server.IsReplica)
                {
                    continue;
                }

                string? reply = await server.InfoRawAsync("stats").WaitAsync(InfoTimeout, _time, cancellationToken).ConfigureAwait(false);
                if (ServerInfo.Parse(reply).EvictedKeys is not { } evicted)
                {
                    continue;
                }

                string endpoint = server.EndPoint.ToString() ?? "";
                if (_lastCount.TryGetValue(endpoint, out long previous) && evicted > previous)
                {
                    grown += evicted - previous;
                }

                // A lower count is a restarted server: a new baseline.
                _lastCount[endpoint] = evicted;
            }

            if (grown > 0)
            {
                Report(grown);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception ex)
        {
            if (Interlocked.Exchange(ref _unavailableLogged, 1) == 0)
            {
                Log.BackgroundOperationFailed(_logger, "eviction check (INFO stats)", ex.GetType().Name);
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private void Report(long evicted)
    {
        long now = _time.GetTimestamp();
        Volatile.Write(ref _lastSeen, now);
        long total = Interlocked.Add(ref _total, evicted);
        _metrics.ServerEvictions(evicted);
        long last = Volatile.Read(ref _lastWarning);
        if ((last == 0 || _time.GetElapsedTime(last, now) >= WarningInterval) && Interlocked.CompareExchange(ref _lastWarning, now, last) == last)
        {
            Log.ServerEvictions(_logger, evicted, total);
        }
    }
}
