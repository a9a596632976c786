using System.Collections.Concurrent;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// Invalidations and blacklistings that could not reach Redis, per key, last one wins, bounded. While one is
/// remembered for a key this instance does not read that key from Redis (it could read the entry the write was meant
/// to kill), nor any value of a grouped type while a group invalidation's member list is still unknown; other keys are
/// unaffected, so one unreachable cluster shard does not switch the whole cache off. The connection's background work
/// replays them as soon as Redis answers again, each with its own back-off, and only the steps still owed.
/// </summary>
internal sealed class RememberedWrites
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(5);
    private const int ReplayBatch = 64;

    private readonly ConcurrentDictionary<string, FreshnessWrite> _writes = new(StringComparer.Ordinal);
    private readonly int _limit;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string? _host;
    private readonly int _port;
    private int _count;
    private int _groupWide;

    /// <param name="limit">How many writes may be remembered.</param>
    /// <param name="logger">The library's logger.</param>
    /// <param name="time">The clock.</param>
    /// <param name="host">The server, for the replay span's <c>server.address</c>.</param>
    /// <param name="port">The server's port, for the replay span's <c>server.port</c>.</param>
    public RememberedWrites(int limit, ILogger logger, TimeProvider time, string? host = null, int port = 0)
    {
        _limit = limit;
        _logger = logger;
        _time = time;
        _host = host;
        _port = port;
    }

    /// <summary>One volatile read: cheap enough for every request.</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Whether a read or write-back of <paramref name="key"/> must not use Redis yet. One volatile read when nothing is pending.</summary>
    public bool Blocks(string key, bool grouped) =>
        !IsEmpty && ((grouped && Volatile.Read(ref _groupWide) > 0) || _writes.ContainsKey(key));

    /// <summary>
    /// Remembers a write for replay, replacing an older one for the same key. <see langword="false"/> when the limit is
    /// reached: the newest is refused (and logged as an error) rather than an older one evicted, so the caller whose
    /// write was lost is the one told.
    /// </summary>
    public bool Remember(FreshnessWrite write) => Add(write, replace: true);

    /// <summary>
    /// Replays the writes that are due, a batch at a time (the writes of a batch are pipelined). What Redis does not
    /// take stays remembered with a longer back-off; a write of several steps is replaced by the steps still owed.
    /// A replay that sends anything has a root span of its own: it serves no request.
    /// </summary>
    public async Task ReplayAsync(RedisConnection connection, CancellationToken cancellationToken, bool ignoreBackOff = false)
    {
        if (IsEmpty)
        {
            return;
        }

        if (!CacheTracing.IsEnabled || !AnyDue(ignoreBackOff))
        {
            await ReplayDueAsync(connection, ignoreBackOff, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var activity = CacheTracing.StartReplay(_host, _port);
        int replayed = await ReplayDueAsync(connection, ignoreBackOff, cancellationToken).ConfigureAwait(false);
        CacheTracing.Replayed(activity, replayed, anyLeft: !IsEmpty);
    }

    private bool AnyDue(bool ignoreBackOff)
    {
        long now = _time.GetTimestamp();
        return _writes.Any(w => ignoreBackOff || w.Value.NextAttemptAt <= now);
    }

    /// <summary>Replays what is due and returns how many writes went through (wholly or in part).</summary>
    private async Task<int> ReplayDueAsync(RedisConnection connection, bool ignoreBackOff, CancellationToken cancellationToken)
    {
        int replayed = 0;
        long now = _time.GetTimestamp();
        var batch = new List<FreshnessWrite>(ReplayBatch);
        var applied = new List<Task<IReadOnlyList<FreshnessWrite>>>(ReplayBatch);
        using var pending = _writes.GetEnumerator();
        bool more = true;
        while (more)
        {
            batch.Clear();
            applied.Clear();
            while (batch.Count < ReplayBatch && (more = pending.MoveNext()))
            {
                var write = pending.Current.Value;
                if (ignoreBackOff || write.NextAttemptAt <= now)
                {
                    batch.Add(write);
                    applied.Add(write.ApplyAsync(connection, _time, _logger).AsTask());
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            var results = await Task.WhenAll(applied).ConfigureAwait(false);
            for (int i = 0; i < batch.Count; i++)
            {
                var write = batch[i];
                var left = results[i];
                if (left.Count == 1 && ReferenceEquals(left[0], write))
                {
                    // Nothing went through: try again later, each failure doubling the wait.
                    write.Attempts++;
                    write.NextAttemptAt = _time.GetTimestamp() + BackOff(write.Attempts);
                    continue;
                }

                // The steps still owed go in before the replayed write goes out, so no key is ever neither applied nor
                // remembered; a step under the write's own key takes its place (unless a newer write replaced it).
                bool replacedInPlace = false;
                foreach (var step in left)
                {
                    step.Attempts = write.Attempts + 1;
                    step.NextAttemptAt = _time.GetTimestamp() + BackOff(step.Attempts);
                    if (step.Key == write.Key)
                    {
                        replacedInPlace = Replace(write, step);
                    }
                    else
                    {
                        // A write remembered meanwhile for the same key is as new as this step or newer: keep it.
                        Add(step, replace: false);
                    }
                }

                if (replacedInPlace || Forget(write))
                {
                    replayed++;
                }
            }
        }

        if (replayed > 0)
        {
            Log.InvalidationsReplayed(_logger, replayed);
        }

        return replayed;
    }

    /// <summary>Drops everything (the cache is disposed) and returns how many writes were lost.</summary>
    public int Clear()
    {
        int lost = 0;
        foreach (var write in _writes)
        {
            if (Forget(write.Value))
            {
                lost++;
            }
        }

        return lost;
    }

    private bool Add(FreshnessWrite write, bool replace)
    {
        while (true)
        {
            if (_writes.TryGetValue(write.Key, out var existing))
            {
                if (!replace)
                {
                    return true;
                }

                // Last one wins.
                if (Replace(existing, write))
                {
                    return true;
                }

                continue;
            }

            // Counted before it is published, so IsEmpty is never true while a write is in the map.
            if (Interlocked.Increment(ref _count) > _limit)
            {
                Interlocked.Decrement(ref _count);
                Log.RememberedInvalidationsFull(_logger, _limit);
                return false;
            }

            if (write.IsGroupWide)
            {
                Interlocked.Increment(ref _groupWide);
            }

            if (_writes.TryAdd(write.Key, write))
            {
                Log.InvalidationDeferred(_logger, write.CacheType, write.LogId);
                return true;
            }

            Interlocked.Decrement(ref _count);
            if (write.IsGroupWide)
            {
                Interlocked.Decrement(ref _groupWide);
            }
        }
    }

    /// <summary>Swaps <paramref name="current"/> for <paramref name="next"/> under their key, counting conservatively.</summary>
    private bool Replace(FreshnessWrite current, FreshnessWrite next)
    {
        if (next.IsGroupWide)
        {
            Interlocked.Increment(ref _groupWide);
        }

        bool replaced = _writes.TryUpdate(next.Key, next, current);
        if (replaced ? current.IsGroupWide : next.IsGroupWide)
        {
            Interlocked.Decrement(ref _groupWide);
        }

        return replaced;
    }

    private long BackOff(int attempts)
    {
        var wait = FirstRetry * Math.Pow(2, Math.Min(attempts - 1, 8));
        if (wait > MaxRetry)
        {
            wait = MaxRetry;
        }

        return (long)(wait.TotalSeconds * _time.TimestampFrequency);
    }

    private bool Forget(FreshnessWrite write)
    {
        if (!_writes.TryRemove(new KeyValuePair<string, FreshnessWrite>(write.Key, write)))
        {
            return false;
        }

        if (write.IsGroupWide)
        {
            Interlocked.Decrement(ref _groupWide);
        }

        Interlocked.Decrement(ref _count);
        return true;
    }
}
