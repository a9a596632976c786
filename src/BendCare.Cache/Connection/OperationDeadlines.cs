namespace BendCare.Cache.Connection;

/// <summary>
/// The operation timeout of every request in flight, enforced by one timer for all of them instead of a timer per
/// operation (which costs an allocation and the timer queue's lock on every call). Operations are pushed on a lock-free
/// stack; a periodic sweep, armed only while something is in flight, drops the finished ones and expires the overdue
/// ones. An operation is expired at most one tick after its deadline, so the deadlines are set one tick early.
/// <para>
/// Time this process spent late does not count against an operation. Each sweep measures how late it ran (beyond one
/// tick of jitter); that lateness means a starved thread pool or a saturated CPU, and the socket completions that carry
/// the replies wait for the same threads, so a reply may be sitting in the socket while the operation looks unanswered.
/// The timer is one-shot, armed again by each sweep for one tick after it ran: a sweep's lateness is then the thread
/// pool's queue delay at that moment, however slowly that delay grew. (A periodic timer fires on its own schedule, and
/// a sweep measured against the sweep before it sees only the growth of a delay: a thread pool that grows slowly more
/// starved, or stays starved, would look on time, and every reply its continuations handle late would look slow.)
/// An operation times out when the time since it was sent, less the lateness measured meanwhile, passes its deadline,
/// or when its deadline is <c>grace</c> behind in wall-clock time: the wait stays bounded on a machine that stays late.
/// </para>
/// </summary>
internal sealed class OperationDeadlines : IDisposable
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _tick;
    private readonly long _tickTicks;
    private readonly long _lateTicks;
    private readonly long _graceTicks;
    private readonly ITimer _timer;
    private readonly Action<PendingOperation> _complete;
    private PendingOperation? _head;
    private long _dueAt;
    private long _lateness;
    private int _armed;
    private int _sweeping;
    private int _disposed;

    /// <param name="time">The clock and timer.</param>
    /// <param name="tick">How often the sweep runs while operations are in flight.</param>
    /// <param name="grace">How far past its deadline (wall clock) an operation may be kept because this process ran late.</param>
    /// <param name="complete">Runs an expired operation's completion (tests run it inline; by default, on the thread pool).</param>
    public OperationDeadlines(TimeProvider time, TimeSpan tick, TimeSpan grace, Action<PendingOperation>? complete = null)
    {
        _complete = complete ?? QueueOnThreadPool;
        _time = time;
        _tick = tick;
        _tickTicks = ToTimestamp(time, tick);
        // A periodic timer fires at the system timer's resolution, not at its period (15.6 ms on Windows by default,
        // a few ms on Linux for a 1 ms period): a sweep that late is the clock, not a late process.
        _lateTicks = Math.Max(_tickTicks, ToTimestamp(time, TimerResolution));
        _graceTicks = ToTimestamp(time, grace);
        _timer = time.CreateTimer(static s => ((OperationDeadlines)s!).Sweep(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How late a sweep may run before the delay counts as this process running late: above any system timer's resolution.</summary>
    public static TimeSpan TimerResolution { get; } = TimeSpan.FromMilliseconds(16);

    /// <summary>How late after its deadline an operation may be expired.</summary>
    public TimeSpan Tick => _tick;

    /// <summary>The lateness measured so far (timestamp ticks): an operation notes it when sent.</summary>
    public long Lateness => Volatile.Read(ref _lateness);

    /// <summary>
    /// How far (timestamp ticks) the sweep is overdue at <paramref name="now"/> beyond the timer's jitter: lateness of
    /// this process that the next sweep will measure and <see cref="Lateness"/> does not hold yet. 0 while nothing is in
    /// flight (the sweep is disarmed, so its due time says nothing).
    /// </summary>
    public long UnmeasuredLateness(long now)
    {
        if (Volatile.Read(ref _armed) == 0)
        {
            return 0;
        }

        long late = now - Volatile.Read(ref _dueAt) - _lateTicks;
        return late > 0 ? late : 0;
    }

    /// <summary>Whether this process is running late right now (see <see cref="UnmeasuredLateness"/>).</summary>
    public bool IsRunningLate(long now) => UnmeasuredLateness(now) > 0;

    public void Track(PendingOperation operation)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            // The cache is being disposed: nothing will sweep this operation again, so it ends now.
            Abandon(operation);
            return;
        }

        Push(operation);
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Disposed between the check and the push: the disposal may have walked the list already.
            AbandonAll();
            return;
        }

        if (Volatile.Read(ref _armed) == 0 && Interlocked.Exchange(ref _armed, 1) == 0)
        {
            Arm();
        }
    }

    /// <summary>One pass over what is in flight (the timer's callback; tests may call it).</summary>
    internal void Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            // A slow pass is still running (or a test called this meanwhile): it sees everything, but it may be past the
            // point where it arms the timer again, so this call keeps the timer going while something is tracked.
            if (Volatile.Read(ref _armed) != 0)
            {
                Arm();
            }

            return;
        }

        PendingOperation? expired = null;
        try
        {
            long now = _time.GetTimestamp();
            long late = now - Volatile.Read(ref _dueAt) - _lateTicks;
            long lateness = late > 0 ? Interlocked.Add(ref _lateness, late) : Volatile.Read(ref _lateness);
            var operation = Interlocked.Exchange(ref _head, null);
            while (operation is not null)
            {
                var next = operation.Next;
                operation.Next = null;
                if (!operation.IsDone)
                {
                    long overdue = now - operation.ExpiresAt;
                    if (overdue >= 0 && (overdue >= lateness - operation.LatenessAtStart || overdue >= _graceTicks))
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

            if (Volatile.Read(ref _head) is not null)
            {
                // One tick from now, not from the previous due time: the next sweep's lateness is the delay it meets.
                Arm();
            }
            else
            {
                // Disarm before clearing the flag, so a Track that arms after the flag is cleared is never undone here.
                ChangeTimer(Timeout.InfiniteTimeSpan);

                // A full fence (not a release write): the read of the head below must not move before this store, or a
                // Track that pushed meanwhile and saw the flag still set would be left without a timer.
                Interlocked.Exchange(ref _armed, 0);
                if (Volatile.Read(ref _head) is not null && Interlocked.Exchange(ref _armed, 1) == 0)
                {
                    Arm();
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            // Disposed during the pass, which held the list: what it pushed back is never swept again.
            AbandonAll();
        }

        // Completed after the pass, each on a thread-pool thread of its own, as a timer of their own would: a caller's
        // continuation (its loader, on a timeout) runs inline in the completion, and the loaders of callers that timed
        // out together must not wait for each other (a synchronous database driver blocks its thread).
        while (expired is not null)
        {
            var next = expired.Next;
            expired.Next = null;
            _complete(expired);
            expired = next;
        }
    }

    /// <summary>
    /// Stops the sweep and ends every operation still in flight now (with its reply if it has one, else as skipped: the
    /// cache is shutting down, which is not a timeout of Redis): on a multiplexer the application owns
    /// (<c>UseConnection</c>) nothing else would end them before that multiplexer's own timeout. An operation tracked
    /// or pushed back by a sweep afterwards ends at once.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _timer.Dispose();
        AbandonAll();
    }

    private void AbandonAll()
    {
        var operation = Interlocked.Exchange(ref _head, null);
        while (operation is not null)
        {
            var next = operation.Next;
            operation.Next = null;
            if (!operation.IsDone)
            {
                Abandon(operation);
            }

            operation = next;
        }
    }

    private void Abandon(PendingOperation operation)
    {
        operation.Abandoned = true;
        _complete(operation);
    }

    private static void QueueOnThreadPool(PendingOperation operation) => ThreadPool.UnsafeQueueUserWorkItem(operation, preferLocal: false);

    private static long ToTimestamp(TimeProvider time, TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    /// <summary>Sets the timer to fire once, one tick from now (each sweep arms it again while something is tracked).</summary>
    private void Arm()
    {
        Volatile.Write(ref _dueAt, _time.GetTimestamp() + _tickTicks);
        ChangeTimer(_tick);
    }

    private void ChangeTimer(TimeSpan dueTime)
    {
        try
        {
            _timer.Change(dueTime, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: Dispose ends whatever is still tracked.
        }
    }

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

/// <summary>An operation in flight, as <see cref="OperationDeadlines"/> sees it; expired on a thread-pool thread.</summary>
internal abstract class PendingOperation : IThreadPoolWorkItem
{
    protected PendingOperation(long expiresAt, long latenessAtStart)
    {
        ExpiresAt = expiresAt;
        LatenessAtStart = latenessAtStart;
    }

    /// <summary>Timestamp (of the connection's <see cref="TimeProvider"/>) at which the operation times out.</summary>
    public long ExpiresAt { get; }

    /// <summary><see cref="OperationDeadlines.Lateness"/> when the operation was sent: what was late before it does not count for it.</summary>
    public long LatenessAtStart { get; }

    /// <summary>The sweep's link; touched only by the stack's push and the sweep.</summary>
    internal PendingOperation? Next { get; set; }

    public abstract bool IsDone { get; }

    /// <summary>Set before an operation is completed because the sweep is disposed (see <see cref="Abandon"/>).</summary>
    internal bool Abandoned { get; set; }

    /// <summary>The deadline passed: completes the operation, unless its reply has arrived meanwhile. Never throws.</summary>
    public abstract void Expire();

    /// <summary>The sweep is disposed: completes the operation with its reply if it has one, else without counting a timeout. Never throws.</summary>
    public virtual void Abandon() => Expire();

    /// <summary>Runs <see cref="Abandon"/> or <see cref="Expire"/> (queued by the sweep).</summary>
    public void Complete()
    {
        if (Abandoned)
        {
            Abandon();
        }
        else
        {
            Expire();
        }
    }

    void IThreadPoolWorkItem.Execute() => Complete();
}
