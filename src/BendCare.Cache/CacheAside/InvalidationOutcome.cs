namespace BendCare.Cache.CacheAside;

/// <summary>What became of an invalidation, a blacklisting or a set (the <c>outcome</c> tag of <c>bendcare.cache.invalidations</c>).</summary>
internal enum InvalidationOutcome
{
    /// <summary>Written to Redis before the call returned.</summary>
    Applied,

    /// <summary>Redis could not be reached: remembered and replayed when it answers again; the key is not read meanwhile.</summary>
    Remembered,

    /// <summary>Neither applied nor remembered (the cache is disposed, or too many invalidations are remembered): logged as an error.</summary>
    Dropped,

    /// <summary>The cache is disabled (no <c>REDIS_HOST</c>): nothing to invalidate.</summary>
    Disabled,
}
