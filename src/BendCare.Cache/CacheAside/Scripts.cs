namespace BendCare.Cache.CacheAside;

/// <summary>
/// Server-side scripts. Each touches exactly the one key it declares in KEYS, so it runs on a cluster
/// (and on Redis 7, Valkey 7.2/8, and Garnet with Lua on).
/// </summary>
internal static class Scripts
{
    /// <summary>
    /// Compare-and-set for write-backs. ARGV[1] '1' = the key must hold exactly ARGV[2], '0' = the key must be absent.
    /// ARGV[3] the new value ('' = delete the key), ARGV[4] its TTL in milliseconds. Returns 1 when written.
    /// </summary>
    public const string CompareAndSet = """
        local current = redis.call('GET', KEYS[1])
        if ARGV[1] == '1' then
          if current ~= ARGV[2] then return 0 end
        elseif current then
          return 0
        end
        if ARGV[3] == '' then
          redis.call('DEL', KEYS[1])
        else
          redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
        end
        return 1
        """;

    /// <summary>Adds ARGV[1] to the set KEYS[1] and sets the set's TTL to ARGV[2] milliseconds: one command instead of two.</summary>
    public const string AddToGroup = """
        redis.call('SADD', KEYS[1], ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """;

    /// <summary>
    /// Deletes KEYS[1] only if it does not hold a string: a tombstone written since the caller saw the foreign value
    /// must survive. Returns 1 when deleted.
    /// </summary>
    public const string DeleteIfNotString = """
        if redis.call('TYPE', KEYS[1]).ok ~= 'string' then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;
}
