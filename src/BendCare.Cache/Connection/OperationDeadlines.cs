namespace BendCare.Cache.Connection;

/// <summary>
/// The operation timeout of every request in flight, enforced by one timer for all of them instead of a timer per
/// operation (which costs an allocation and the timer queue's lock on every call). Operations are pushed on a lock-free
/// stack; a sweep every tick, armed only while something is in flight, drops the finished ones and expires the overdue
/// ones. An operation is expired at most one tick after its deadline, so the deadlines are set one tick early.
/// <para>
/// Time this process spent late does not count against an operation. Each sweep measures how late it ran (beyond one
/// tick of jitter); that lateness means a starved thread pool or a saturated CPU, and the socket completions that carry
/// the replies wait for the same threads, so a reply may be sitting in the socket while the operation looks unanswered.
/// The timer is one-shot, armed again by each sweep for one tick after it ran: a sweep's lateness is then the thread
/// pool's queue delay at that moment, however slowly that delay grew. (A periodic timer fires on its own schedule, and
/// a sweep measured against the sweep before it sees only the growth of a delay: a thread pool that grows slowly more
/// starved, or stays starved, would look on time, and every reply its continuations handle late would look slow.)
/// </para>
/// <para>
/// What an operation is excused (<see cref="LatenessFor"/>) is a level, not a running total: a steady queue delay D
/// delays a reply by D once, however long the operation waits. It is the largest of the latest sweep's lateness (the
/// queue delay now), the lateness of the sweep that is overdue now, and each lateness measured since the operation was
/// sent, cut to the time since it was sent (a stall that ended since), never more than the operation's own time. An
/// operation times out when its deadline is that far behind, or <c>grace</c> behind: the wait stays bounded on a
/// machine that stays late.
/// </para>
/// </summary>
internal sealed class OperationDeadlines : IDisposable
{
    /// <summary>How many late sweeps are remembered: more than an operation's longest life (deadline plus grace) holds.</summary>
    private const int HistoryLength = 256;

    private readonly TimeProvider _time;
    private readonly TimeSpan _tick;
    private readonly long _tickTicks;
    private readonly long _lateTicks;
    private readonly long _graceTicks;
    private readonly ITimer _timer;
    private readonly Action<PendingOperation> _complete;
    private readonly long _origin;
    private readonly long _ticksPerMillisecond;
    private readonly long[] _history = new long[HistoryLength];
    private PendingOperation? _head;
    private long _dueAt;
    private long _lastLate;
    private int _historyNext;
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
        _origin = time.GetTimestamp();
        _ticksPerMillisecond = Math.Max(1, time.TimestampFrequency / 1000);
        _timer = time.CreateTimer(static s => ((OperationDeadlines)s!).Sweep(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How late a sweep may run before the delay counts as this process running late: above any system timer's resolution.</summary>
    public static TimeSpan TimerResolution { get; } = TimeSpan.FromMilliseconds(16);

    /// <summary>How late after its deadline an operation may be expired.</summary>
    public TimeSpan Tick => _tick;

    /// <summary>
    /// How far (timestamp ticks) the sweep is overdue at <paramref name="now"/> beyond the timer's jitter: lateness of
    /// this process that the next sweep will measure. 0 while nothing is in flight (the sweep is disarmed, so its due
    /// time says nothing).
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

    /// <summary>
    /// The time (timestamp ticks) an operation sent at <paramref name="sent"/> and looked at <paramref name="now"/> may
    /// have waited for this process rather than for Redis (see the class's remarks): never more than its own time.
    /// Walks the late sweeps since it was sent, so it is read only off the hot path (a reply past half the timeout, an
    /// operation past its deadline).
    /// </summary>
    public long LatenessFor(long sent, long now)
    {
        long took = now - sent;
        if (took <= 0)
        {
            return 0;
        }

        long excuse = Math.Max(UnmeasuredLateness(now), Volatile.Read(ref _lastLate));
        long sentMs = (sent - _origin) / _ticksPerMillisecond;
        int next = Volatile.Read(ref _historyNext);
        for (int i = 1; i <= HistoryLength && excuse < took; i++)
        {
            // Racing the sweep that writes it only makes an entry newer than expected: still lateness of this process.
            long entry = Interlocked.Read(ref _history[(next - i) & (HistoryLength - 1)]);
            long atMs = entry >> LateBits;
            if (entry == 0 || atMs <= sentMs)
            {
                break;
            }

            long lateTicks = Math.Min(entry & LateMask, atMs - sentMs) * _ticksPerMillisecond;
            excuse = Math.Max(excuse, lateTicks);
        }

        return Math.Min(excuse, took);
    }

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

        if (Volatile.Read(ref _armed) == 0)
        {
            // The due time first: once the flag is set, a stale one (of the last pass, maybe long ago) reads as lateness.
            Volatile.Write(ref _dueAt, _time.GetTimestamp() + _tickTicks);
            if (Interlocked.Exchange(ref _armed, 1) == 0)
            {
                Arm();
            }
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
            Record(now, late > 0 ? late : 0);

            // Measured: until this pass arms the timer again, the same delay must not also read as unmeasured.
            Volatile.Write(ref _dueAt, now);
            var operation = Interlocked.Exchange(ref _head, null);
            while (operation is not null)
            {
                var next = operation.Next;
                operation.Next = null;
                if (!operation.IsDone)
                {
                    long overdue = now - operation.ExpiresAt;
                    if (overdue >= 0 && (overdue >= _graceTicks || overdue >= LatenessFor(operation.Sent, now)))
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
                // Nothing in flight: the queue delay of the last sweep says nothing about the next operation's.
                ChangeTimer(Timeout.InfiniteTimeSpan);
                Volatile.Write(ref _lastLate, 0);

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

    private const int LateBits = 20;
    private const long LateMask = (1L << LateBits) - 1;

    /// <summary>Keeps a sweep's lateness: the latest as the level now, and a late one in the history (ms, packed with its time in one word).</summary>
    private void Record(long now, long late)
    {
        Volatile.Write(ref _lastLate, late);
        if (late <= 0)
        {
            return;
        }

        long atMs = (now - _origin) / _ticksPerMillisecond;
        long lateMs = Math.Min(LateMask, Math.Max(1, late / _ticksPerMillisecond));
        int next = _historyNext;
        Interlocked.Exchange(ref _history[next & (HistoryLength - 1)], (atMs << LateBits) | lateMs);
        Volatile.Write(ref _historyNext, next + 1);
    }

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
    protected PendingOperation(long expiresAt, long sent)
    {
        ExpiresAt = expiresAt;
        Sent = sent;
    }

    /// <summary>Timestamp (of the connection's <see cref="TimeProvider"/>) at which the operation times out.</summary>
    public long ExpiresAt { get; }

    /// <summary>Timestamp at which the operation was sent: lateness of this process before it does not count for it.</summary>
    public long Sent { get; }

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
