using System.Collections.Concurrent;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// Generic cache-aside over <see cref="RedisConnection"/>: get-or-load with per-key single-flight, race-free
/// background write-back, invalidation with replay. Knows nothing about RBAC; every cache type is a
/// <see cref="CacheType{T}"/>. Split by concern: <c>.Read</c>, <c>.Stampede</c>, <c>.WriteBack</c>, <c>.Invalidation</c>.
/// </summary>
internal sealed partial class CacheAsideEngine : IAsyncDisposable, IDisposable
{
    /// <summary>How long disposal spends replaying remembered invalidations before it reports the rest as lost.</summary>
    private static readonly TimeSpan FinalReplayLimit = TimeSpan.FromSeconds(2);

    private readonly RedisConnection _connection;
    private readonly CacheMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RememberedWrites _remembered;
    private readonly int _maxPendingWriteBacks;
    private readonly ConcurrentDictionary<string, object> _flights = new(StringComparer.Ordinal);
    private int _writeBacksInFlight;
    private int _healingEpoch;
    private int _disposed;

    internal CacheAsideEngine(RedisConnection connection, BendCareCacheOptions options, CacheMetrics metrics, ILogger logger, TimeProvider time)
    {
        _connection = connection;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _maxPendingWriteBacks = options.MaxPendingWriteBacks;
        _remembered = new RememberedWrites(options.MaxPendingInvalidations, logger, time, options.Host, options.Port);
        metrics.ObserveRememberedInvalidations(() => _remembered.Count);
        connection.RegisterBackgroundWork(ct => _remembered.ReplayAsync(connection, ct));
        StartLocalCache(options);
    }

    /// <summary>Invalidations remembered for replay (tests and the health check read it).</summary>
    internal int RememberedInvalidations => _remembered.Count;

    /// <summary>Background write-backs not finished yet (tests wait for zero instead of sleeping).</summary>
    internal int WriteBacksInFlight => Volatile.Read(ref _writeBacksInFlight);

    internal RedisConnection Connection => _connection;

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// Stops taking invalidations (later ones are reported as dropped), gives the remembered ones one last bounded
    /// replay, and logs an error with the number that could not be replayed. Runs before the connection is disposed.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_remembered.IsEmpty && _connection.IsEnabled)
        {
            // Redis may be coming back (a reconnect, a probe): keep trying, without back-off, for a bounded time.
            long started = _time.GetTimestamp();
            using var limit = new CancellationTokenSource(FinalReplayLimit, _time);
            try
            {
                while (!_remembered.IsEmpty && _time.GetElapsedTime(started) < FinalReplayLimit)
                {
                    await _remembered.ReplayAsync(_connection, limit.Token, ignoreBackOff: true).ConfigureAwait(false);
                    if (!_remembered.IsEmpty)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(50), _time, limit.Token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Out of time: what is left is reported below.
            }
        }

        ReportLost();
    }

    /// <summary>Synchronous disposal never blocks: no final replay, the remembered invalidations are reported as lost.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            ReportLost();
        }
    }

    private void ReportLost()
    {
        _bus?.DisposeAsync().AsTask().GetAwaiter().GetResult(); // completes synchronously: unsubscribes fire-and-forget
        int lost = _remembered.Clear();
        if (lost > 0)
        {
            Log.InvalidationsLostAtDisposal(_logger, lost);
        }
    }
}
