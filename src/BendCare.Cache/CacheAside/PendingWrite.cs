using BendCare.Cache.Connection;
using BendCare.Cache.Serialization;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// A write that must reach Redis for freshness (an invalidation, a blacklisting). When Redis is unreachable it is
/// remembered under its key (last one wins) and replayed later; every kind is safe to apply more than once and
/// later than issued, because each only ever makes the cache more conservative.
/// </summary>
internal abstract class PendingWrite
{
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

    /// <summary>Applies the write; <see langword="false"/> when Redis could not be reached.</summary>
    public abstract ValueTask<bool> ApplyAsync(RedisConnection connection, TimeProvider time);
}

/// <summary>Replaces whatever the key holds with a new unique tombstone: a miss that no earlier load can overwrite.</summary>
internal sealed class TombstoneWrite(string key, TimeSpan ttl, string cacheType, string logId) : PendingWrite(key, cacheType, logId)
{
    public override async ValueTask<bool> ApplyAsync(RedisConnection connection, TimeProvider time)
    {
        var result = await connection.ExecuteAsync(
            Key,
            static (db, s) => db.StringSetAsync(s.Key, Envelope.NewTombstone(), s.ttl),
            (Key: (RedisKey)Key, ttl),
            CacheType).ConfigureAwait(false);
        return result.IsOk;
    }
}

/// <summary>Sets a value that must win (a blacklisting) until an absolute expiry; replayed with what is left of its lifetime.</summary>
internal sealed class ValueWrite(string key, byte[] value, DateTimeOffset expiresAt, string cacheType, string logId) : PendingWrite(key, cacheType, logId)
{
    public override async ValueTask<bool> ApplyAsync(RedisConnection connection, TimeProvider time)
    {
        var left = expiresAt - time.GetUtcNow();
        if (left <= TimeSpan.Zero)
        {
            return true;
        }

        var result = await connection.ExecuteAsync(
            Key,
            static (db, s) => db.StringSetAsync(s.Key, s.value, s.left),
            (Key: (RedisKey)Key, value, left),
            CacheType).ConfigureAwait(false);
        return result.IsOk;
    }
}

/// <summary>
/// Invalidates every value in a group (every user context holding a role): bump the epoch first, so loads in flight
/// drop their write-back, then tombstone every member the group's set lists. Order comes from awaiting each step.
/// </summary>
internal sealed class GroupInvalidation<T>(CacheEntry<T> entry, GroupIndex<T> groups, string groupId, string logId)
    : PendingWrite(groups.SetKey(groupId), entry.Name, logId)
{
    public override bool IsGroupWide => true;

    public override async ValueTask<bool> ApplyAsync(RedisConnection connection, TimeProvider time)
    {
        var bumped = await connection.ExecuteAsync(
            groups.EpochKey,
            static (db, key) => db.StringIncrementAsync(key),
            (RedisKey)groups.EpochKey,
            CacheType).ConfigureAwait(false);
        if (!bumped.IsOk)
        {
            return false;
        }

        var members = await connection.ExecuteAsync(
            Key,
            static (db, key) => db.SetMembersAsync(key),
            (RedisKey)Key,
            CacheType).ConfigureAwait(false);
        if (!members.IsOk)
        {
            return false;
        }

        var writes = new Task<bool>[members.Value.Length];
        for (int i = 0; i < writes.Length; i++)
        {
            string id = members.Value[i].ToString();
            writes[i] = new TombstoneWrite(entry.Key(id), entry.MaxTtl, CacheType, id).ApplyAsync(connection, time).AsTask();
        }

        return (await Task.WhenAll(writes).ConfigureAwait(false)).All(static written => written);
    }
}
