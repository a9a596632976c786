namespace BendCare.Cache.Connection;

/// <summary>How fast Redis answered one operation, as far as the breaker is concerned.</summary>
internal enum ReplySpeed
{
    /// <summary>Within half the operation timeout, all told: proof of health (it resets the failure count).</summary>
    Prompt,

    /// <summary>
    /// Over half the operation timeout all told, but not once the time this process ran late meanwhile is left out: it
    /// says nothing about Redis (the wait may have been Redis's or this process's), so it neither resets the failure
    /// count nor counts towards it.
    /// </summary>
    Excused,

    /// <summary>Over half the operation timeout with this process's lateness left out: Redis was slow.</summary>
    Slow,
}
