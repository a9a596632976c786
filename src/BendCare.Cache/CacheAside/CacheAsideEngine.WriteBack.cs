using System.Diagnostics;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.Serialization;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

internal sealed partial class CacheAsideEngine
{
    private void ScheduleWriteBack<T>(CacheType<T> type, string key, string id, Flight<T> flight, T? value)
    {
        if (Interlocked.Increment(ref _writeBacksInFlight) > _maxPendingWriteBacks)
        {
            Interlocked.Decrement(ref _writeBacksInFlight);
            DropWriteBack(type, id, "too many write-backs pending");
            return;
        }

        // The caller has its value already; the write happens on the thread pool.
        _ = Task.Run(() => WriteBackAsync(type, key, id, flight, value));
    }

    /// <summary>
    /// Writes a loaded value back only if nothing invalidated the key since the load began: a compare-and-set
    /// against the exact state observed before the loader ran. For grouped types the value is first registered in
    /// its groups' sets, then the epoch is re-read; a moved epoch means a group invalidation may have missed it.
    /// </summary>
    private async Task WriteBackAsync<T>(CacheType<T> type, string key, string id, Flight<T> flight, T? value)
    {
        // A child of the read's span (which may have ended: the caller had its value first).
        using var activity = CacheTracing.Start(type.SpanName(TracedOperation.WriteBack), type.Name, type.TraceIdAttribute, id);
        try
        {
            if (_remembered.Blocks(key, type.Groups is not null))
            {
                DropWriteBack(type, id, "invalidations are waiting for replay", activity);
                return;
            }

            TimeSpan? ttl = value is null ? null : CacheableTtl(type.TtlFor(value, _time.GetUtcNow()));
            byte[]? bytes = ttl is not null ? Envelope.WriteValue(value!, type.TypeInfo, flight.Fingerprint) : null;
            if (bytes is null && !flight.Observed.IsUnreadable)
            {
                CacheTracing.Wrote(activity, InvalidationOutcome.Disabled);
                return;
            }

            if (bytes is not null && type.Groups is { } groups && !await RegisterAndCheckEpochAsync(type, groups, id, value!, flight.Epoch).ConfigureAwait(false))
            {
                DropWriteBack(type, id, "a group invalidation ran during the load", activity);
                return;
            }

            // An invalidation may have been remembered (Redis unreachable) while the group registration was awaited.
            if (_remembered.Blocks(key, type.Groups is not null))
            {
                DropWriteBack(type, id, "invalidations are waiting for replay", activity);
                return;
            }

            // Every tombstone and blacklisting outlives the horizon (plus a margin for this command's own journey), so a
            // compare-and-set sent before it cannot find the key absent again after what it must lose to has expired.
            if (_time.GetElapsedTime(flight.Started) >= type.WriteBackHorizon)
            {
                DropWriteBack(type, id, "the load took longer than the write-back horizon", activity);
                return;
            }

            var observed = flight.Observed;
            var args = new RedisValue[]
            {
                observed.Bytes is null ? "0" : "1",
                observed.Bytes ?? RedisValue.EmptyString,
                bytes ?? RedisValue.EmptyString,
                ttl is { } t ? (long)Math.Ceiling(t.TotalMilliseconds) : 0,
            };
            var written = await _connection.ExecuteAsync(
                key,
                static (db, s) => db.ScriptEvaluateAsync(Scripts.CompareAndSet, [s.key], s.args),
                (key: (RedisKey)key, args),
                type.Name,
                command: "EVAL").ConfigureAwait(false);
            if (!written.IsOk)
            {
                // Redis did not take it (the next read loads again): the reason is how the command ended.
                CacheTracing.Dropped(activity, CacheTracing.Name(CacheTracing.OutcomeOf(written.Status)));
            }
            else if ((int)written.Value == 0)
            {
                DropWriteBack(type, id, "the key changed during the load", activity);
            }
            else
            {
                CacheTracing.Wrote(activity, InvalidationOutcome.Applied);
            }
        }
        catch (Exception ex)
        {
            _ = CacheTracing.Failed(activity, ex);
            Log.BackgroundOperationFailed(_logger, "write-back", ex.GetType().Name);
        }
        finally
        {
            Interlocked.Decrement(ref _writeBacksInFlight);
        }
    }

    /// <summary>Registers the value in its groups' sets, then checks the epoch has not moved since before the load.</summary>
    private async ValueTask<bool> RegisterAndCheckEpochAsync<T>(CacheType<T> type, GroupIndex<T> groups, string id, T value, long? epochBefore)
    {
        if (epochBefore is null || !await RegisterInGroupsAsync(type, groups, id, value).ConfigureAwait(false))
        {
            return false;
        }

        return await ReadEpochAsync(type, groups, deadline: 0).ConfigureAwait(false) == epochBefore;
    }

    /// <summary>Adds the id to each of its groups' member sets (all in flight together); <see langword="false"/> unless every add went through.</summary>
    private async ValueTask<bool> RegisterInGroupsAsync<T>(CacheType<T> type, GroupIndex<T> groups, string id, T value, long deadline = 0)
    {
        var groupIds = groups.GroupsOf(value);
        var adds = new Task<bool>[groupIds.Count];
        for (int i = 0; i < groupIds.Count; i++)
        {
            adds[i] = AddToGroupAsync(type, groups, groupIds[i], id, deadline).AsTask();
        }

        foreach (bool added in await Task.WhenAll(adds).ConfigureAwait(false))
        {
            if (!added)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Registers an id in a group's member set (pruning expired members), in one single-key script.</summary>
    private async ValueTask<bool> AddToGroupAsync<T>(CacheType<T> type, GroupIndex<T> groups, string groupId, string id, long deadline)
    {
        string setKey = groups.SetKey(groupId);
        var added = await _connection.ExecuteAsync(
            setKey,
            static (db, s) => db.ScriptEvaluateAsync(Scripts.AddToGroup, [s.setKey], [s.id, s.lifetimeMs]),
            (setKey: (RedisKey)setKey, id: (RedisValue)id, lifetimeMs: (RedisValue)(long)groups.MemberLifetime.TotalMilliseconds),
            type.Name,
            deadline,
            "EVAL").ConfigureAwait(false);
        if (added.IsOk && (long)added.Value == 1)
        {
            Log.BookkeepingKeyHealed(_logger, "role member set", groupId);
        }

        return added.IsOk;
    }

    private void DropWriteBack<T>(CacheType<T> type, string id, string reason, Activity? activity = null)
    {
        _metrics.WriteBackDropped(type.Tag);
        CacheTracing.Dropped(activity, reason);
        Log.WriteBackDropped(_logger, type.Name, type.LogId(id), reason);
    }
}
