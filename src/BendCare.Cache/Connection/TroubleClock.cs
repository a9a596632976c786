namespace BendCare.Cache.Connection;

/// <summary>
/// Since when the connection has been in trouble, for the forced reconnect. A breaker that flaps (open, a probe's PING
/// succeeds, closed, requests fail, open again) is one episode: the clock restarts only after every breaker stayed
/// closed for <see cref="StablePeriod"/>, not at every probe.
/// </summary>
internal sealed class TroubleClock
{
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private long _since;
    private long _calmSince;

    public TroubleClock(TimeProvider time, TimeSpan stablePeriod)
    {
        _time = time;
        StablePeriod = stablePeriod;
    }

    public TimeSpan StablePeriod { get; }

    /// <summary>A breaker opened (or a connection attempt failed).</summary>
    public void OnTrouble()
    {
        lock (_gate)
        {
            if (_since == 0)
            {
                _since = _time.GetTimestamp();
            }

            _calmSince = 0;
        }
    }

    /// <summary>Every breaker is closed now.</summary>
    public void OnCalm()
    {
        lock (_gate)
        {
            if (_since != 0 && _calmSince == 0)
            {
                _calmSince = _time.GetTimestamp();
            }
        }
    }

    /// <summary>How long the current episode has lasted; <see langword="null"/> when there is none.</summary>
    public TimeSpan? InTroubleFor()
    {
        lock (_gate)
        {
            if (_since == 0)
            {
                return null;
            }

            long now = _time.GetTimestamp();
            if (_calmSince != 0 && _time.GetElapsedTime(_calmSince, now) >= StablePeriod)
            {
                _since = 0;
                _calmSince = 0;
                return null;
            }

            return _time.GetElapsedTime(_since, now);
        }
    }
}
