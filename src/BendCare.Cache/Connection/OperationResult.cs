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

    public static OperationResult<T> Skipped => new(OperationStatus.Skipped);

    public static OperationResult<T> OutOfTime => new(OperationStatus.OutOfTime);
}
