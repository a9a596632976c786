namespace BendCare.Cache.Connection;

/// <summary>How one guarded Redis operation ended.</summary>
internal enum OperationStatus
{
    /// <summary>Redis answered.</summary>
    Ok,

    /// <summary>Not attempted: the cache is disabled, not connected yet, or the breaker is open.</summary>
    Skipped,

    /// <summary>Redis failed or refused.</summary>
    Failed,

    /// <summary>Redis did not answer within the operation timeout (counted like <see cref="Failed"/>; told apart for tracing).</summary>
    TimedOut,

    /// <summary>Not attempted: the request's earlier Redis steps used up its operation timeout.</summary>
    OutOfTime,

    /// <summary>Redis answered with an error about the data (a foreign value at our key), not about itself.</summary>
    DataError,
}
