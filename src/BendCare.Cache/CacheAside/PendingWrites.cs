using System.Collections.Concurrent;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// Invalidations and blacklistings that could not reach Redis, per key, last one wins, bounded. While any is
/// remembered this instance does not read from Redis (it could read an entry the write was meant to kill); the
/// connection's background work replays them as soon as Redis answers again.
/// </summary>
internal sealed class PendingWrites
{
    private readonly ConcurrentDictionary<string, PendingWrite> _writes = new(StringComparer.Ordinal);
    private readonly int _limit;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private int _count;

    public PendingWrites(int limit, ILogger logger, TimeProvider time)
    {
        _limit = limit;
        _logger = logger;
        _time = time;
    }

    /// <summary>One volatile read: cheap enough for every request.</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    public int Count => Volatile.Read(ref _count);

    public void Remember(PendingWrite write)
    {
        bool added = false;
        _writes.AddOrUpdate(
            write.Key,
            (_, w) =>
            {
                added = true;
                return w;
            },
            static (_, _, w) => w,
            write);
        if (!added)
        {
            return;
        }

        if (Interlocked.Increment(ref _count) > _limit)
        {
            // Refuse rather than evict: an evicted invalidation would be lost silently.
            if (_writes.TryRemove(new KeyValuePair<string, PendingWrite>(write.Key, write)))
            {
                Interlocked.Decrement(ref _count);
            }

            Log.PendingInvalidationsFull(_logger, _limit);
            return;
        }

        Log.InvalidationDeferred(_logger, write.CacheType, write.LogId);
    }

    /// <summary>Replays what is remembered; stops at the first write Redis does not take and tries again next time.</summary>
    public async Task ReplayAsync(RedisConnection connection, CancellationToken cancellationToken)
    {
        if (IsEmpty)
        {
            return;
        }

        int replayed = 0;
        foreach (var pair in _writes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!await pair.Value.ApplyAsync(connection, _time).ConfigureAwait(false))
            {
                break;
            }

            // Only forget the exact write replayed: a newer one for the same key stays.
            if (_writes.TryRemove(pair))
            {
                Interlocked.Decrement(ref _count);
                replayed++;
            }
        }

        if (replayed > 0)
        {
            Log.InvalidationsReplayed(_logger, replayed);
        }
    }
}
