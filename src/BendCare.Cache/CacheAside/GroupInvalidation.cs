using System.Buffers.Binary;
using System.Security.Cryptography;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// Invalidates every value in a group (every user context holding a role): move the epoch on first, so loads in flight
/// drop their write-back, then tombstone every member the group's set lists. Order comes from awaiting each step. A
/// step that went through is never repeated: after the epoch moved, only the member read is owed; after the member
/// read, only the tombstones that failed, each remembered under its own key (one dead shard blocks only its keys).
/// </summary>
internal sealed class GroupInvalidation<T>(CacheType<T> type, GroupIndex<T> groups, string groupId, string logId, bool epochMoved = false)
    : FreshnessWrite(groups.SetKey(groupId), type.Name, logId)
{
    public override bool IsGroupWide => true;

    /// <summary>How many members the group's sets listed (its span's count); <see langword="null"/> until they were read.</summary>
    public int? MembersFound { get; private set; }

    public override async ValueTask<IReadOnlyList<FreshnessWrite>> ApplyAsync(RedisConnection connection, TimeProvider time, ILogger logger, long deadline = 0)
    {
        if (!epochMoved && !await MoveEpochAsync(connection, groups, CacheType, logger, deadline).ConfigureAwait(false))
        {
            return [this];
        }

        var members = await connection.ExecuteAsync(
            Key,
            static (db, key) => db.ScriptEvaluateAsync(Scripts.GroupMembers, [key]),
            (RedisKey)Key,
            CacheType,
            deadline,
            "EVAL").ConfigureAwait(false);
        var legacy = groups.LegacySetKey(groupId) is { } legacyKey
            ? await connection.ExecuteAsync(
                legacyKey,
                static (db, key) => db.ScriptEvaluateAsync(Scripts.LegacyGroupMembers, [key]),
                (RedisKey)legacyKey,
                CacheType,
                deadline,
                "EVAL").ConfigureAwait(false)
            : new OperationResult<RedisResult>(RedisResult.Create(Array.Empty<RedisValue>()));
        if (!members.IsOk || !legacy.IsOk)
        {
            return [epochMoved ? this : new GroupInvalidation<T>(type, groups, groupId, LogId, epochMoved: true)];
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

        MembersFound = ids.Count;
        var writes = new List<Task<IReadOnlyList<FreshnessWrite>>>(ids.Count);
        foreach (string id in ids)
        {
            writes.Add(new TombstoneWrite(type.Key(id), type.MustWinLifetime, CacheType, id).ApplyAsync(connection, time, logger, deadline).AsTask());
        }

        var failed = new List<FreshnessWrite>();
        foreach (var left in await Task.WhenAll(writes).ConfigureAwait(false))
        {
            failed.AddRange(left);
        }

        return failed.Count == 0 ? Nothing : failed;
    }

    /// <summary>
    /// Moves the epoch on (healing a foreign value there): a role edit's first step, and how a reader heals an epoch it
    /// could not parse. <see langword="false"/> when Redis did not take it.
    /// </summary>
    public static async ValueTask<bool> MoveEpochAsync(RedisConnection connection, GroupIndex<T> groups, string cacheType, ILogger logger, long deadline = 0)
    {
        var bumped = await connection.ExecuteAsync(
            groups.EpochKey,
            static (db, s) => db.ScriptEvaluateAsync(Scripts.BumpEpoch, [s.key], [s.fresh]),
            (key: (RedisKey)groups.EpochKey, fresh: (RedisValue)FreshEpoch()),
            cacheType,
            deadline,
            "EVAL").ConfigureAwait(false);
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
