using BendCare.Cache.Connection;
using BendCare.Cache.Serialization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

/// <summary>Replaces whatever the key holds with a new unique tombstone: a miss that no earlier load can overwrite.</summary>
internal sealed class TombstoneWrite(string key, TimeSpan ttl, string cacheType, string logId) : FreshnessWrite(key, cacheType, logId)
{
    public override async ValueTask<IReadOnlyList<FreshnessWrite>> ApplyAsync(RedisConnection connection, TimeProvider time, ILogger logger, long deadline = 0)
    {
        var result = await connection.ExecuteAsync(
            Key,
            static (db, s) => db.StringSetAsync(s.Key, Envelope.NewTombstone(), s.ttl),
            (Key: (RedisKey)Key, ttl),
            CacheType,
            deadline,
            "SET").ConfigureAwait(false);
        return result.IsOk ? Nothing : [this];
    }
}
