namespace BendCare.Cache.Connection;

/// <summary>
/// The operation timeout of every request in flight, enforced by one timer for all of them instead of a timer per
/// operation (which costs an allocation and the timer queue's lock on every call). Operations are pushed on a lock-free
/// stack; a periodic sweep, armed only while something is in flight, drops the finished ones and expires the overdue
/// ones. An operation is expired at most one tick after its deadline, so the deadlines are set one tick early.
/// </summary>
internal sealed class OperationDeadlines : IDisposable
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _tick;
    private readonly ITimer _timer;
    private PendingOperation? _head;
    private int _armed;
    private int _sweeping;

    public OperationDeadlines(TimeProvider time, TimeSpan tick)
    {
        _time = time;
        _tick = tick;
        _timer = time.CreateTimer(static s => ((OperationDeadlines)s!).Sweep(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How late after its deadline an operation may be expired.</summary>
    public TimeSpan Tick => _tick;

    public void Track(PendingOperation operation)
    {
        Push(operation);
        if (Volatile.Read(ref _armed) == 0 && Interlocked.Exchange(ref _armed, 1) == 0)
        {
            _timer.Change(_tick, _tick);
        }
    }

    /// <summary>One pass over what is in flight (the timer's callback; tests may call it).</summary>
    internal void Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return; // a slow pass is still running: it will see everything
        }

        PendingOperation? expired = null;
        try
        {
            long now = _time.GetTimestamp();
            var operation = Interlocked.Exchange(ref _head, null);
            while (operation is not null)
            {
                var next = operation.Next;
                operation.Next = null;
                if (!operation.IsDone)
                {
                    if (now >= operation.ExpiresAt)
                    {
                        operation.Next = expired;
                        expired = operation;
                    }
                    else
                    {
                        Push(operation);
                    }
                }

                operation = next;
            }

            if (Volatile.Read(ref _head) is null)
            {
                // Disarm before clearing the flag, so a Track that arms after the flag is cleared is never undone here.
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                Volatile.Write(ref _armed, 0);
                if (Volatile.Read(ref _head) is not null && Interlocked.Exchange(ref _armed, 1) == 0)
                {
                    _timer.Change(_tick, _tick);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }

        // Completed after the pass, so the next tick can sweep meanwhile, and on this thread, as a timer of their own
        // would: each caller's continuation (its loader, on a timeout) runs here without a further thread-pool hop.
        while (expired is not null)
        {
            var next = expired.Next;
            expired.Next = null;
            expired.Expire();
            expired = next;
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Push(PendingOperation operation)
    {
        PendingOperation? head;
        do
        {
            head = Volatile.Read(ref _head);
            operation.Next = head;
        }
        while (Interlocked.CompareExchange(ref _head, operation, head) != head);
    }
}

/// <summary>An operation in flight, as <see cref="OperationDeadlines"/> sees it.</summary>
internal abstract class PendingOperation
{
    protected PendingOperation(long expiresAt) => ExpiresAt = expiresAt;

    /// <summary>Timestamp (of the connection's <see cref="TimeProvider"/>) at which the operation times out.</summary>
    public long ExpiresAt { get; }

    /// <summary>The sweep's link; touched only by the stack's push and the sweep.</summary>
    internal PendingOperation? Next { get; set; }

    public abstract bool IsDone { get; }

    /// <summary>The deadline passed: completes the operation, unless its reply has arrived meanwhile.</summary>
    public abstract void Expire();
}
