namespace BendCare.Cache.LocalCache;

/// <summary>
/// Whether this instance may serve from its in-process cache now: only inside a verification window that its own
/// heartbeat, received back through the invalidation channel, opened. Every lapse (the window ran out, a heartbeat went
/// missing, the connection failed or was replaced) moves <see cref="Generation"/>, which makes every entry installed
/// before it invisible at once. See docs/freshness.md (L1).
/// </summary>
internal sealed class LocalVerification
{
    private readonly TimeProvider _time;
    private readonly long _window;
    private long _verifiedUntil;
    private long _generation;
    private long _lapsedAt = long.MinValue;

    /// <param name="time">The monotonic clock.</param>
    /// <param name="window">How long after its SEND time a heartbeat that came back verifies this instance.</param>
    public LocalVerification(TimeProvider time, TimeSpan window)
    {
        _time = time;
        _window = (long)(window.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>Moves at every lapse; entries carry the generation they were installed in.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>Raised after every lapse (stores sweep what became invisible).</summary>
    public event Action? Lapsed;

    /// <summary>Whether the window is open now.</summary>
    public bool IsVerified => _time.GetTimestamp() < Volatile.Read(ref _verifiedUntil);

    /// <summary>
    /// The generation to install under, when verified now; otherwise <see langword="null"/> (a read that starts
    /// unverified never installs: messages may have been lost before it).
    /// </summary>
    public long? CurrentIfVerified()
    {
        // The window first, then the generation: a heartbeat writes them in the other order (see Verify).
        long until = Volatile.Read(ref _verifiedUntil);
        long generation = Volatile.Read(ref _generation);
        return _time.GetTimestamp() < until ? generation : null;
    }

    /// <summary>Whether an entry installed under <paramref name="generation"/> may be served now.</summary>
    /// <param name="generation">The generation the entry was installed under.</param>
    /// <param name="now">The current timestamp, read by the caller (once for the whole freshness check).</param>
    public bool Allows(long generation, long now)
    {
        long until = Volatile.Read(ref _verifiedUntil);
        return generation == Volatile.Read(ref _generation) && now < until;
    }

    /// <summary>
    /// This instance's heartbeat came back. If the window had closed since the last one, that is a lapse first:
    /// whatever arrived (or not) in the gap is unknown, so nothing installed before may be served again.
    /// </summary>
    /// <param name="sentAt">The local timestamp taken before the heartbeat was published.</param>
    public void Verify(long sentAt)
    {
        // A heartbeat sent before the last lapse proves nothing about the subscription after it (a replaced or failed
        // subscription's queue may still hold one).
        if (sentAt <= Volatile.Read(ref _lapsedAt))
        {
            return;
        }

        long now = _time.GetTimestamp();
        long until = sentAt + _window;
        if (now >= Volatile.Read(ref _verifiedUntil))
        {
            // The window ran out: nothing installed before may be served again. Heartbeats in flight are still good
            // (same subscription, in order), so this is not a lapse of the subscription.
            MoveGeneration();
        }

        // Generation before window: a reader that sees the new window sees the new generation.
        if (until > Volatile.Read(ref _verifiedUntil))
        {
            Volatile.Write(ref _verifiedUntil, until);
        }
    }

    /// <summary>Closes the window and moves the generation: everything installed so far becomes invisible.</summary>
    public void Lapse()
    {
        Volatile.Write(ref _lapsedAt, _time.GetTimestamp());
        MoveGeneration();
    }

    private void MoveGeneration()
    {
        Volatile.Write(ref _verifiedUntil, 0);
        Interlocked.Increment(ref _generation);
        Lapsed?.Invoke();
    }
}
