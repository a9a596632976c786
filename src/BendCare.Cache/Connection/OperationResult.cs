namespace BendCare.Cache.Connection;

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
