namespace BendCare.Cache.Connection;

/// <summary>
/// Counts consecutive failures and, past a threshold, makes the request path skip Redis entirely so an outage
/// costs requests nothing. Lock-free on the closed path: one volatile read.
/// </summary>
internal sealed class CircuitBreaker
{
    private readonly int _threshold;
    private readonly TimeSpan _baseOpen;
    private readonly TimeSpan _maxOpen;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private volatile int _state;
    private int _consecutiveFailures;
    private int _lastReplySlow;
    private TimeSpan _currentOpen;
    private long _openUntil;
    private long _openedAt;

    public CircuitBreaker(int threshold, TimeSpan openDuration, TimeSpan maxOpenDuration, TimeProvider time)
    {
        _threshold = threshold;
        _baseOpen = openDuration;
        _maxOpen = maxOpenDuration;
        _currentOpen = openDuration;
        _time = time;
    }

    /// <summary>Raised (outside the lock) when the breaker moves between closed and not closed.</summary>
    public event Action<BreakerState, BreakerState>? StateChanged;

    public BreakerState State => (BreakerState)_state;

    /// <summary>Since when the breaker has been open (or half-open), in <see cref="TimeProvider"/> timestamps; 0 when closed.</summary>
    public long OpenedAt => Volatile.Read(ref _openedAt);

    /// <summary>Whether the background probe may test Redis now (true while closed). When the open period is over, exactly one caller becomes the probe.</summary>
    public bool TryStartProbe()
    {
        int state = _state;
        if (state == (int)BreakerState.Closed)
        {
            return true;
        }

        if (state == (int)BreakerState.HalfOpen)
        {
            return false;
        }

        if (_time.GetTimestamp() < Volatile.Read(ref _openUntil))
        {
            return false;
        }

        // The first caller past the open period wins the probe; the rest keep skipping Redis.
        return Interlocked.CompareExchange(ref _state, (int)BreakerState.HalfOpen, (int)BreakerState.Open) == (int)BreakerState.Open;
    }

    /// <summary>
    /// A request's operation succeeded: resets the failure count while closed. It never closes an open breaker: a
    /// reply that was in flight when the connection failed says nothing about Redis now; only a probe does.
    /// </summary>
    public void OnRequestSuccess()
    {
        if (_state == (int)BreakerState.Closed && Volatile.Read(ref _consecutiveFailures) != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }

        if (Volatile.Read(ref _lastReplySlow) != 0)
        {
            Volatile.Write(ref _lastReplySlow, 0);
        }
    }

    /// <summary>
    /// Whether the latest outcome from this server was a slow reply (more than half the operation timeout, time this
    /// process ran late left out): a request whose budget ran out before its next step was then waiting for Redis.
    /// A fast reply or a failure (counted itself) clears it.
    /// </summary>
    public bool LastReplyWasSlow => Volatile.Read(ref _lastReplySlow) != 0;

    /// <summary>A reply arrived in time, but slowly: neither a success nor a failure, remembered for <see cref="LastReplyWasSlow"/>.</summary>
    public void OnSlowReply()
    {
        if (Volatile.Read(ref _lastReplySlow) == 0)
        {
            Volatile.Write(ref _lastReplySlow, 1);
        }
    }

    /// <summary>A probe succeeded: closes the breaker.</summary>
    public void OnProbeSuccess()
    {
        if (_state == (int)BreakerState.Closed)
        {
            if (Volatile.Read(ref _consecutiveFailures) != 0)
            {
                Volatile.Write(ref _consecutiveFailures, 0);
            }

            return;
        }

        BreakerState previous;
        lock (_gate)
        {
            previous = (BreakerState)_state;
            if (previous == BreakerState.Closed)
            {
                return;
            }

            _consecutiveFailures = 0;
            _currentOpen = _baseOpen;
            Volatile.Write(ref _openedAt, 0);
            _state = (int)BreakerState.Closed;
        }

        StateChanged?.Invoke(previous, BreakerState.Closed);
    }

    public void OnFailure()
    {
        // Counted in its own right: a step after it that finds its budget spent is not counted again for the same wait.
        if (Volatile.Read(ref _lastReplySlow) != 0)
        {
            Volatile.Write(ref _lastReplySlow, 0);
        }

        BreakerState previous;
        lock (_gate)
        {
            previous = (BreakerState)_state;
            switch (previous)
            {
                case BreakerState.Closed:
                    if (++_consecutiveFailures < _threshold)
                    {
                        return;
                    }

                    Open(_baseOpen);
                    break;
                case BreakerState.HalfOpen:
                    // The probe failed: back off before the next one.
                    var next = _currentOpen + _currentOpen;
                    Open(next > _maxOpen ? _maxOpen : next);
                    return;
                default:
                    return;
            }
        }

        StateChanged?.Invoke(previous, BreakerState.Open);
    }

    /// <summary>Opens at once (the client reported the connection lost): no need to wait for failing requests.</summary>
    public void Trip()
    {
        BreakerState previous;
        lock (_gate)
        {
            previous = (BreakerState)_state;
            if (previous != BreakerState.Closed)
            {
                return;
            }

            Open(_baseOpen);
        }

        StateChanged?.Invoke(previous, BreakerState.Open);
    }

    /// <summary>The client reported the connection restored: let the next request probe now instead of waiting the period out.</summary>
    public void AllowProbeNow()
    {
        lock (_gate)
        {
            if (_state == (int)BreakerState.Open)
            {
                Volatile.Write(ref _openUntil, _time.GetTimestamp());
            }
        }
    }

    private void Open(TimeSpan duration)
    {
        _currentOpen = duration;
        long now = _time.GetTimestamp();
        if (_state == (int)BreakerState.Closed)
        {
            Volatile.Write(ref _openedAt, now);
        }

        Volatile.Write(ref _openUntil, now + (long)(duration.TotalSeconds * _time.TimestampFrequency));
        _state = (int)BreakerState.Open;
    }
}
