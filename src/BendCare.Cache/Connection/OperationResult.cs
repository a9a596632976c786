namespace BendCare.Cache.Connection;

/// <summary>How one guarded Redis operation ended.</summary>
internal enum OperationStatus
{
    /// <summary>Redis answered.</summary>
    Ok,

    /// <summary>Not attempted: the cache is disabled, not connected yet, or the breaker is open.</summary>
    Skipped,

    /// <summary>Redis failed, refused or did not answer within the operation timeout.</summary>
    Failed,

    /// <summary>Not attempted: the request's earlier Redis steps used up its operation timeout.</summary>
    OutOfTime,

    /// <summary>Redis answered with an error about the data (a foreign value at our key), not about itself.</summary>
    DataError,
}

/// <summary>The outcome of a guarded Redis operation: never an exception.</summary>
internal readonly struct OperationResult<T>
{
    public OperationResult(T value)
    {
        Status = OperationStatus.Ok;
        Value = value;
    }

    public OperationResult(OperationStatus status)
    {
        Status = status;
        Value = default!;
    }

    public OperationStatus Status { get; }

    public T Value { get; }

    public bool IsOk => Status == OperationStatus.Ok;

    public static OperationResult<T> Skipped => new(OperationStatus.Skipped);

    public static OperationResult<T> OutOfTime => new(OperationStatus.OutOfTime);
}
