using BendCare.Cache.Diagnostics;
using BendCare.Cache.Serialization;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

internal sealed partial class CacheAsideEngine
{
    private void ScheduleWriteBack<T>(CacheEntry<T> entry, string key, string id, Flight<T> flight, T? value, long started)
    {
        if (Interlocked.Increment(ref _pendingWriteBacks) > _maxPendingWriteBacks)
        {
            Interlocked.Decrement(ref _pendingWriteBacks);
            DropWriteBack(entry, id, "too many write-backs pending");
            return;
        }

        // The caller has its value already; the write happens on the thread pool.
        _ = Task.Run(() => WriteBackAsync(entry, key, id, flight, value, started));
    }

    /// <summary>
    /// Writes a loaded value back only if nothing invalidated the key since the load began: a compare-and-set
    /// against the exact state observed before the loader ran. For grouped types the value is first registered in
    /// its groups' sets, then the epoch is re-read; a moved epoch means a group invalidation may have missed it.
    /// </summary>
    private async Task WriteBackAsync<T>(CacheEntry<T> entry, string key, string id, Flight<T> flight, T? value, long started)
    {
        try
        {
            if (_pending.Blocks(key, entry.Groups is not null))
            {
                DropWriteBack(entry, id, "invalidations are waiting for replay");
                return;
            }

            // A tombstone lives as long as the longest entry; a load older than that could miss it.
            if (_time.GetElapsedTime(started) >= entry.MaxTtl)
            {
                DropWriteBack(entry, id, "the load took longer than the entry lives");
                return;
            }

            TimeSpan? ttl = value is null ? null : entry.TtlFor(value, _time.GetUtcNow());
            byte[]? bytes = ttl > TimeSpan.Zero ? Envelope.WriteValue(value!, entry.TypeInfo, flight.Fingerprint) : null;
            if (bytes is null && !flight.Observed.IsUnreadable)
            {
                return;
            }

            if (bytes is not null && entry.Groups is { } groups && !await RegisterInGroupsAsync(entry, groups, id, value!, flight.Epoch).ConfigureAwait(false))
            {
                DropWriteBack(entry, id, "a group invalidation ran during the load");
                return;
            }

            // An invalidation may have been remembered (Redis unreachable) while the group registration was awaited.
            if (_pending.Blocks(key, entry.Groups is not null))
            {
                DropWriteBack(entry, id, "invalidations are waiting for replay");
                return;
            }

            var observed = flight.Observed;
            var args = new RedisValue[]
            {
                observed.Bytes is null ? "0" : "1",
                observed.Bytes ?? RedisValue.EmptyString,
                bytes ?? RedisValue.EmptyString,
                ttl is { } t ? (long)t.TotalMilliseconds : 0,
            };
            var written = await _connection.ExecuteAsync(
                key,
                static (db, s) => db.ScriptEvaluateAsync(Scripts.CompareAndSet, [s.key], s.args),
                (key: (RedisKey)key, args),
                entry.Name).ConfigureAwait(false);
            if (written.IsOk && (int)written.Value == 0)
            {
                DropWriteBack(entry, id, "the key changed during the load");
            }
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, "write-back", ex.GetType().Name);
        }
        finally
        {
            Interlocked.Decrement(ref _pendingWriteBacks);
        }
    }

    /// <summary>Adds the id to each of its groups' sets (TTL refreshed), then checks the epoch has not moved.</summary>
    private async ValueTask<bool> RegisterInGroupsAsync<T>(CacheEntry<T> entry, GroupIndex<T> groups, string id, T value, long? epochBefore)
    {
        if (epochBefore is null)
        {
            return false;
        }

        var groupIds = groups.GroupsOf(value);
        var adds = new Task<bool>[groupIds.Count];
        for (int i = 0; i < groupIds.Count; i++)
        {
            adds[i] = AddToGroupAsync(entry, groups, groupIds[i], id).AsTask();
        }

        if (!(await Task.WhenAll(adds).ConfigureAwait(false)).All(static added => added))
        {
            return false;
        }

        var epoch = await _connection.ExecuteAsync(groups.EpochKey, static (db, k) => db.StringGetAsync(k), (RedisKey)groups.EpochKey, entry.Name).ConfigureAwait(false);
        return epoch.IsOk && ParseEpoch(epoch.Value) == epochBefore;
    }

    /// <summary>Adds an id to a group's set and refreshes the set's TTL, in one single-key script.</summary>
    private async ValueTask<bool> AddToGroupAsync<T>(CacheEntry<T> entry, GroupIndex<T> groups, string groupId, string id)
    {
        var added = await _connection.ExecuteAsync(
            groups.SetKey(groupId),
            static (db, s) => db.ScriptEvaluateAsync(Scripts.AddToGroup, [s.setKey], [s.id, s.ttlMs]),
            (setKey: (RedisKey)groups.SetKey(groupId), id: (RedisValue)id, ttlMs: (RedisValue)(long)groups.SetTtl.TotalMilliseconds),
            entry.Name).ConfigureAwait(false);
        return added.IsOk;
    }

    private void DropWriteBack<T>(CacheEntry<T> entry, string id, string reason)
    {
        _metrics.WriteBackDropped(entry.Tag);
        Log.WriteBackDropped(_logger, entry.Name, entry.LogId(id), reason);
    }
}
