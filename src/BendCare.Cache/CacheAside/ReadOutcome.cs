namespace BendCare.Cache.CacheAside;

/// <summary>
/// How a getter's Redis phase ended (the <c>bendcare.cache.outcome</c> attribute of its span). Every outcome but
/// <see cref="Hit"/> is a miss for the metrics and the logs: the loader answers.
/// </summary>
internal enum ReadOutcome
{
    /// <summary>Served from Redis.</summary>
    Hit,

    /// <summary>Redis answered: nothing there, a tombstone, or an entry of another token with the same id.</summary>
    Miss,

    /// <summary>Redis not asked: the cache is disabled, the first connect failed, the breaker is open, or an invalidation of the key waits for replay.</summary>
    Skipped,

    /// <summary>Redis did not answer within the operation timeout.</summary>
    Timeout,

    /// <summary>Redis failed (connection error, refused command).</summary>
    Error,

    /// <summary>Redis held something we cannot read (corrupt, foreign, newer format, wrong Redis type): it is replaced.</summary>
    UnreadableHealed,
}
