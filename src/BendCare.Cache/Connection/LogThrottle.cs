namespace BendCare.Cache.Connection;

/// <summary>"At most once per interval" for log lines that a failure can repeat many times a second.</summary>
internal static class LogThrottle
{
    /// <summary>
    /// True for exactly one caller per <paramref name="interval"/> (the first ever included); <paramref name="lastAt"/>
    /// holds the <see cref="TimeProvider"/> timestamp of the last claim, 0 before the first.
    /// </summary>
    public static bool TryClaim(TimeProvider time, ref long lastAt, TimeSpan interval)
    {
        long now = time.GetTimestamp();
        long last = Volatile.Read(ref lastAt);
        return (last == 0 || time.GetElapsedTime(last, now) >= interval)
            && Interlocked.CompareExchange(ref lastAt, now, last) == last;
    }
}
