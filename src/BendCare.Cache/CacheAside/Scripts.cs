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

    /// <summary>
    /// Registers ARGV[1] in the member set KEYS[1] (a sorted set scored by the server time, in ms, until which the member's
    /// value may exist) for ARGV[2] milliseconds from now, never shortening an existing registration, and prunes up to 64
    /// expired members. A foreign value at KEYS[1] is deleted first (its members are lost already). Returns 1 when it
    /// had to heal the key, else 0. Server time only: the instances' clocks are never compared.
    /// </summary>
    public const string AddToGroup = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local lifetime = tonumber(ARGV[2])
        local healed = 0
        local kind = redis.call('TYPE', KEYS[1]).ok
        if kind ~= 'zset' and kind ~= 'none' then
          redis.call('DEL', KEYS[1])
          healed = 1
        end
        local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 64)
        if #expired > 0 then
          redis.call('ZREM', KEYS[1], unpack(expired))
        end
        local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
        if (not current) or tonumber(current) < now + lifetime then
          redis.call('ZADD', KEYS[1], now + lifetime, ARGV[1])
        end
        if redis.call('PTTL', KEYS[1]) < lifetime then
          redis.call('PEXPIRE', KEYS[1], lifetime)
        end
        return healed
        """;

    /// <summary>
    /// The members of KEYS[1] whose values may still exist (score at or after the server's now). A foreign value at
    /// KEYS[1] is deleted and a nil reply says its members are unknown.
    /// </summary>
    public const string GroupMembers = """
        local kind = redis.call('TYPE', KEYS[1]).ok
        if kind == 'none' then
          return {}
        end
        if kind ~= 'zset' then
          redis.call('DEL', KEYS[1])
          return false
        end
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
        """;

    /// <summary>The members of an earlier version's plain member set KEYS[1]; nothing when it is missing or not a set.</summary>
    public const string LegacyGroupMembers = """
        if redis.call('TYPE', KEYS[1]).ok == 'set' then
          return redis.call('SMEMBERS', KEYS[1])
        end
        return {}
        """;

    /// <summary>
    /// Moves the epoch KEYS[1] on: INCR, or, when the key holds anything but an integer (a foreign value), replaces it
    /// with ARGV[1], a fresh random number no reader can have seen; a missing key (never written, deleted, evicted) is
    /// started at ARGV[1] too, so epochs never repeat after a loss. Either way every load that read the epoch before
    /// drops its write-back. Returns the new epoch, -1 when it healed the key, 0 when it started it.
    /// </summary>
    public const string BumpEpoch = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          redis.call('SET', KEYS[1], ARGV[1])
          return 0
        end
        local r = redis.pcall('INCR', KEYS[1])
        if type(r) == 'table' and r.err then
          redis.call('SET', KEYS[1], ARGV[1])
          return -1
        end
        return r
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

    /// <summary>
    /// A read for a type with an in-process copy: the value of KEYS[1] and its remaining lifetime in milliseconds, read
    /// atomically (PTTL exactly, never TTL's rounded seconds; -2 absent, -1 no expiry). A key that is not a string
    /// fails as a plain GET does (WRONGTYPE), so it is healed like one.
    /// </summary>
    public const string GetWithLifetime = """
        local value = redis.pcall('GET', KEYS[1])
        if type(value) == 'table' and value.err then
          return redis.error_reply(value.err)
        end
        return { redis.call('PTTL', KEYS[1]), value }
        """;
}
