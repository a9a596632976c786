using System.Collections.Concurrent;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// Invalidations and blacklistings that could not reach Redis, per key, last one wins, bounded. While one is
/// remembered for a key this instance does not read that key from Redis (it could read the entry the write was meant
/// to kill), nor any value of a grouped type while a group invalidation is remembered; other keys are unaffected, so
/// one unreachable cluster shard does not switch the whole cache off. The connection's background work replays them
/// as soon as Redis answers again.
/// </summary>
internal sealed class PendingWrites
{
    private readonly ConcurrentDictionary<string, PendingWrite> _writes = new(StringComparer.Ordinal);
    private readonly int _limit;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private const int ReplayBatch = 64;
    private int _count;
    private int _groupWide;

    public PendingWrites(int limit, ILogger logger, TimeProvider time)
    {
        _limit = limit;
        _logger = logger;
        _time = time;
    }

    /// <summary>One volatile read: cheap enough for every request.</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether a read or write-back of <paramref name="key"/> must not use Redis yet. One volatile read when nothing is pending.</summary>
    public bool Blocks(string key, bool grouped) =>
        !IsEmpty && ((grouped && Volatile.Read(ref _groupWide) > 0) || _writes.ContainsKey(key));

    public void Remember(PendingWrite write)
    {
        while (!_writes.TryAdd(write.Key, write))
        {
            // Last one wins: replace what is there (the count does not change).
            if (_writes.TryGetValue(write.Key, out var existing) && _writes.TryUpdate(write.Key, write, existing))
            {
                return;
            }
        }

        if (write.IsGroupWide)
        {
            Interlocked.Increment(ref _groupWide);
        }

        if (Interlocked.Increment(ref _count) > _limit)
        {
            // Refuse rather than evict: an evicted invalidation would be lost silently.
            Forget(new KeyValuePair<string, PendingWrite>(write.Key, write));
            Log.PendingInvalidationsFull(_logger, _limit);
            return;
        }

        Log.InvalidationDeferred(_logger, write.CacheType, write.LogId);
    }

    /// <summary>
    /// Replays what is remembered, a batch at a time (the writes of a batch are pipelined). A write Redis does not
    /// take stays remembered for the next round; the others go on, so one unreachable shard holds back only its keys.
    /// </summary>
    public async Task ReplayAsync(RedisConnection connection, CancellationToken cancellationToken)
    {
        if (IsEmpty)
        {
            return;
        }

        int replayed = 0;
        var batch = new List<KeyValuePair<string, PendingWrite>>(ReplayBatch);
        var applied = new List<Task<bool>>(ReplayBatch);
        using var pending = _writes.GetEnumerator();
        bool more = true;
        while (more)
        {
            batch.Clear();
            applied.Clear();
            while (batch.Count < ReplayBatch && (more = pending.MoveNext()))
            {
                batch.Add(pending.Current);
                applied.Add(pending.Current.Value.ApplyAsync(connection, _time).AsTask());
            }

            cancellationToken.ThrowIfCancellationRequested();
            var results = await Task.WhenAll(applied).ConfigureAwait(false);
            for (int i = 0; i < batch.Count; i++)
            {
                // Only forget the exact write replayed: a newer one for the same key stays.
                if (results[i] && Forget(batch[i]))
                {
                    replayed++;
                }
            }
        }

        if (replayed > 0)
        {
            Log.InvalidationsReplayed(_logger, replayed);
        }
    }

    private bool Forget(KeyValuePair<string, PendingWrite> write)
    {
        if (!_writes.TryRemove(write))
        {
            return false;
        }

        if (write.Value.IsGroupWide)
        {
            Interlocked.Decrement(ref _groupWide);
        }

        Interlocked.Decrement(ref _count);
        return true;
    }
}
