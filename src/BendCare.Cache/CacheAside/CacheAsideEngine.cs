using System.Collections.Concurrent;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// Generic cache-aside over <see cref="RedisConnection"/>: get-or-load with per-key single-flight, race-free
/// background write-back, invalidation with replay. Knows nothing about RBAC; every cache type is a
/// <see cref="CacheEntry{T}"/>. Split by concern: <c>.Read</c>, <c>.Stampede</c>, <c>.WriteBack</c>, <c>.Invalidation</c>.
/// </summary>
internal sealed partial class CacheAsideEngine
{
    private readonly RedisConnection _connection;
    private readonly CacheMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly PendingWrites _pending;
    private readonly int _maxPendingWriteBacks;
    private readonly ConcurrentDictionary<string, object> _flights = new(StringComparer.Ordinal);
    private int _pendingWriteBacks;

    public CacheAsideEngine(RedisConnection connection, BendCareCacheOptions options, CacheMetrics metrics, ILogger logger, TimeProvider time)
    {
        _connection = connection;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _maxPendingWriteBacks = options.MaxPendingWriteBacks;
        _pending = new PendingWrites(options.MaxPendingInvalidations, logger, time);
        metrics.ObservePendingInvalidations(() => _pending.Count);
        connection.RegisterBackgroundWork(ct => _pending.ReplayAsync(connection, ct));
    }

    /// <summary>Invalidations remembered for replay (tests and the health check read it).</summary>
    internal int PendingInvalidations => _pending.Count;

    /// <summary>Background write-backs not finished yet (tests wait for zero instead of sleeping).</summary>
    internal int PendingWriteBacks => Volatile.Read(ref _pendingWriteBacks);

    internal RedisConnection Connection => _connection;
}
