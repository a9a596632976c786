using BendCare.Cache.Connection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

/// <summary>Sets a value that must win (a blacklisting) until an absolute expiry; replayed with what is left of its lifetime.</summary>
internal sealed class ValueWrite(string key, byte[] value, DateTimeOffset expiresAt, string cacheType, string logId) : FreshnessWrite(key, cacheType, logId)
{
    public override async ValueTask<IReadOnlyList<FreshnessWrite>> ApplyAsync(RedisConnection connection, TimeProvider time, ILogger logger, long deadline = 0)
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
            deadline,
            "SET").ConfigureAwait(false);
        return result.IsOk ? Nothing : [this];
    }
}
