using System.Buffers.Binary;
using System.Security.Cryptography;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.Serialization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// A write that must reach Redis for freshness (an invalidation, a blacklisting). When Redis is unreachable it is
/// remembered under its key (last one wins) and replayed later; every kind is safe to apply more than once and
/// later than issued, because each only ever makes the cache more conservative.
/// </summary>
internal abstract class PendingWrite
{
    /// <summary>What <see cref="ApplyAsync"/> returns when everything reached Redis.</summary>
    protected static readonly IReadOnlyList<PendingWrite> Nothing = [];

    protected PendingWrite(string key, string cacheType, string logId)
    {
        Key = key;
        CacheType = cacheType;
        LogId = logId;
    }

    /// <summary>What the write is remembered under.</summary>
    public string Key { get; }

    public string CacheType { get; }

    public string LogId { get; }

    /// <summary>Whether this write concerns every value of a grouped type (a role invalidation), not just <see cref="Key"/>.</summary>
    public virtual bool IsGroupWide => false;

    /// <summary>Failed replays so far; sets the back-off before the next one. Only <see cref="PendingWrites"/> touches it.</summary>
    public int Attempts { get; set; }

    /// <summary>Not replayed before this <see cref="TimeProvider"/> timestamp. Only <see cref="PendingWrites"/> touches it.</summary>
    public long NextAttemptAt { get; set; }

    /// <summary>
    /// Applies the write and returns what did not reach Redis: nothing, the write itself, or — for a write of several
    /// steps — only the steps still owed, so a replay never repeats a step that went through.
    /// </summary>
    /// <param name="connection">The connection.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The library's logger.</param>
    /// <param name="deadline">Shared by every step (a caller waits one operation timeout at most); 0 = each step its own.</param>
    public abstract ValueTask<IReadOnlyList<PendingWrite>> ApplyAsync(RedisConnection connection, TimeProvider time, ILogger logger, long deadline = 0);

    /// <summary>Set when the write went through but could not do all it was for (a role's members were lost): reported as dropped.</summary>
    public bool Incomplete { get; protected set; }
}

/// <summary>Replaces whatever the key holds with a new unique tombstone: a miss that no earlier load can overwrite.</summary>
internal sealed class TombstoneWrite(string key, TimeSpan ttl, string cacheType, string logId) : PendingWrite(key, cacheType, logId)
{
    public override async ValueTask<IReadOnlyList<PendingWrite>> ApplyAsync(RedisConnection connection, TimeProvider time, ILogger logger, long deadline = 0)
    {
        var result = await connection.ExecuteAsync(
            Key,
            static (db, s) => db.StringSetAsync(s.Key, Envelope.NewTombstone(), s.ttl),
            (Key: (RedisKey)Key, ttl),
            CacheType,
            deadline).ConfigureAwait(false);
        return result.IsOk ? Nothing : [this];
    }
}

/// <summary>Sets a value that must win (a blacklisting) until an absolute expiry; replayed with what is left of its lifetime.</summary>
internal sealed class ValueWrite(string key, byte[] value, DateTimeOffset expiresAt, string cacheType, string logId) : PendingWrite(key, cacheType, logId)
{
    public override async ValueTask<IReadOnlyList<PendingWrite>> ApplyAsync(RedisConnection connection, TimeProvider time, ILogger logger, long deadline = 0)
    {
        // Under a millisecond left rounds to PX 0, which the server refuses: the value has expired for all purposes.
        var left = expiresAt - time.GetUtcNow();
        if (left < TimeSpan.FromMilliseconds(1))
        {
            return Nothing;
        }

        var result = await connection.ExecuteAsync(
            Key,
            static (db, s) => db.StringSetAsync(s.Key, s.value, s.left),
            (Key: (RedisKey)Key, value, left),
            CacheType,
            deadline).ConfigureAwait(false);
        return result.IsOk ? Nothing : [this];
    }
}

/// <summary>
/// Invalidates every value in a group (every user context holding a role): move the epoch on first, so loads in flight
/// drop their write-back, then tombstone every member the group's set lists. Order comes from awaiting each step. A
/// step that went through is never repeated: after the epoch moved, only the member read is owed; after the member
/// read, only the tombstones that failed, each remembered under its own key (one dead shard blocks only its keys).
/// </summary>
internal sealed class GroupInvalidation<T>(CacheEntry<T> entry, GroupIndex<T> groups, string groupId, string logId, bool epochMoved = false)
    : PendingWrite(groups.SetKey(groupId), entry.Name, logId)
{
    public override bool IsGroupWide => true;

    public override async ValueTask<IReadOnlyList<PendingWrite>> ApplyAsync(RedisConnection connection, TimeProvider time, ILogger logger, long deadline = 0)
    {
        if (!epochMoved && !await BumpEpochOnlyAsync(connection, logger, deadline).ConfigureAwait(false))
        {
            return [this];
        }

        var members = await connection.ExecuteAsync(
            Key,
            static (db, key) => db.ScriptEvaluateAsync(Scripts.GroupMembers, [key]),
            (RedisKey)Key,
            CacheType,
            deadline).ConfigureAwait(false);
        var legacy = groups.LegacySetKey(groupId) is { } legacyKey
            ? await connection.ExecuteAsync(
                legacyKey,
                static (db, key) => db.ScriptEvaluateAsync(Scripts.LegacyGroupMembers, [key]),
                (RedisKey)legacyKey,
                CacheType,
                deadline).ConfigureAwait(false)
            : new OperationResult<RedisResult>(RedisResult.Create(Array.Empty<RedisValue>()));
        if (!members.IsOk || !legacy.IsOk)
        {
            return [epochMoved ? this : new GroupInvalidation<T>(entry, groups, groupId, LogId, epochMoved: true)];
        }

        if (members.Value.IsNull)
        {
            // A foreign value overwrote the member set: whoever it listed is lost already. Say so, and report the
            // invalidation as dropped: user contexts it listed may be served until their TTL ends.
            Log.BookkeepingKeyHealed(logger, "role member set", LogId);
            Incomplete = true;
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in members.Value.IsNull ? [] : (RedisValue[])members.Value!)
        {
            ids.Add(id.ToString());
        }

        foreach (var id in (RedisValue[])legacy.Value!)
        {
            ids.Add(id.ToString());
        }

        var writes = new List<Task<IReadOnlyList<PendingWrite>>>(ids.Count);
        foreach (string id in ids)
        {
            writes.Add(new TombstoneWrite(entry.Key(id), entry.MustWinLifetime, CacheType, id).ApplyAsync(connection, time, logger, deadline).AsTask());
        }

        var failed = new List<PendingWrite>();
        foreach (var left in await Task.WhenAll(writes).ConfigureAwait(false))
        {
            failed.AddRange(left);
        }

        return failed.Count == 0 ? Nothing : failed;
    }

    /// <summary>Moves the epoch on (healing a foreign value there); <see langword="false"/> when Redis did not take it.</summary>
    public async ValueTask<bool> BumpEpochOnlyAsync(RedisConnection connection, ILogger logger, long deadline = 0)
    {
        var bumped = await connection.ExecuteAsync(
            groups.EpochKey,
            static (db, s) => db.ScriptEvaluateAsync(Scripts.BumpEpoch, [s.key], [s.fresh]),
            (key: (RedisKey)groups.EpochKey, fresh: (RedisValue)FreshEpoch()),
            CacheType,
            deadline).ConfigureAwait(false);
        if (bumped.IsOk && (long)bumped.Value == -1)
        {
            Log.BookkeepingKeyHealed(logger, "epoch", groups.EpochKey);
        }

        return bumped.IsOk;
    }

    /// <summary>A random epoch no reader can have seen, for healing a foreign value at the epoch key.</summary>
    private static long FreshEpoch()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);

        // Far above anything INCR reaches from 0, and positive.
        return (BinaryPrimitives.ReadInt64LittleEndian(bytes) & long.MaxValue) | (1L << 61);
    }
}
