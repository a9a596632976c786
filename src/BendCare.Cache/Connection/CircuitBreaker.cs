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
    private readonly TimeSpan _stablePeriod;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private volatile int _state;
    private int _consecutiveFailures;
    private bool _primed;
    private long _primedAt;
    private TimeSpan _currentOpen;
    private long _openUntil;
    private long _openedAt;

    /// <param name="threshold">Consecutive failures that open the breaker.</param>
    /// <param name="openDuration">The first open period.</param>
    /// <param name="maxOpenDuration">The longest open period (each failed probe doubles it up to this).</param>
    /// <param name="stablePeriod">How long a breaker closed primed by a slow probe stays primed without a failure.</param>
    /// <param name="time">The clock.</param>
    public CircuitBreaker(int threshold, TimeSpan openDuration, TimeSpan maxOpenDuration, TimeSpan stablePeriod, TimeProvider time)
    {
        _threshold = threshold;
        _baseOpen = openDuration;
        _maxOpen = maxOpenDuration;
        _stablePeriod = stablePeriod;
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
        if (_state == (int)BreakerState.Closed && (Volatile.Read(ref _consecutiveFailures) != 0 || Volatile.Read(ref _primed)))
        {
            lock (_gate)
            {
                if (_state == (int)BreakerState.Closed)
                {
                    // A prompt reply: Redis is healthy, so a primed breaker is an ordinary one again.
                    _consecutiveFailures = 0;
                    _currentOpen = _baseOpen;
                    _primed = false;
                }
            }
        }
    }

    /// <summary>
    /// A probe succeeded: closes the breaker. A <paramref name="slow"/> answer (more than half the operation timeout)
    /// closes it primed: one failure short of the threshold, and its open period kept, so the next failure opens it
    /// again at once with the period doubled. A Redis that answers slowly but in time keeps serving (a breaker held open
    /// on it would disable the cache for good); one too slow for requests costs the requests of one timeout per probe,
    /// not a threshold's worth, and is probed less and less often. Primed lasts one stable period without a failure: a
    /// Redis that stayed slow but answered in time that long is an ordinary one again, and a failure a day later is a
    /// first failure, not a reopening for the longest period.
    /// </summary>
    public void OnProbeSuccess(bool slow = false)
    {
        if (_state == (int)BreakerState.Closed)
        {
            if (!slow && Volatile.Read(ref _consecutiveFailures) != 0)
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

            if (slow)
            {
                _consecutiveFailures = _threshold - 1;
                _primed = true;
                _primedAt = _time.GetTimestamp();
            }
            else
            {
                _consecutiveFailures = 0;
                _currentOpen = _baseOpen;
                _primed = false;
            }

            Volatile.Write(ref _openedAt, 0);
            _state = (int)BreakerState.Closed;
        }

        StateChanged?.Invoke(previous, BreakerState.Closed);
    }

    public void OnFailure()
    {
        BreakerState previous;
        lock (_gate)
        {
            previous = (BreakerState)_state;
            switch (previous)
            {
                case BreakerState.Closed:
                    if (_primed && _time.GetElapsedTime(_primedAt) >= _stablePeriod)
                    {
                        // Primed long ago, and no failure since: this one is counted as by an ordinary breaker.
                        _primed = false;
                        _consecutiveFailures = 0;
                        _currentOpen = _baseOpen;
                    }

                    if (++_consecutiveFailures < _threshold)
                    {
                        return;
                    }

                    // Closed primed by a slow probe: the slow Redis is still too slow, so back off as after a failed probe.
                    Open(_primed ? Doubled(_currentOpen) : _baseOpen);
                    break;
                case BreakerState.HalfOpen:
                    // The probe failed: back off before the next one.
                    Open(Doubled(_currentOpen));
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

    private TimeSpan Doubled(TimeSpan period) => period + period > _maxOpen ? _maxOpen : period + period;

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
