namespace BendCare.Cache.Connection;

/// <summary>The outcome of a guarded Redis operation: never an exception.</summary>
internal readonly struct OperationResult<T>
{
    public OperationResult(T value)
    {
        Status = OperationStatus.Ok;
        Value = value;
    }

    public OperationResult(OperationStatus status, Exception? error = null)
    {
        Status = status;
        Value = default!;
        Error = error;
    }

    public OperationStatus Status { get; }

    public T Value { get; }

    /// <summary>Why a failed operation failed (its span reports the type); null unless Failed, TimedOut or DataError.</summary>
    public Exception? Error { get; }

    public bool IsOk => Status == OperationStatus.Ok;

    /// <summary>
    /// Redis answered (a value or a data error), but took more than half the operation timeout, time this process ran
    /// late left out: a later step of the same request that finds its budget spent was waiting for Redis.
    /// </summary>
    public bool Slow { get; init; }

    public static OperationResult<T> Skipped => new(OperationStatus.Skipped);

    public static OperationResult<T> OutOfTime => new(OperationStatus.OutOfTime);
}
