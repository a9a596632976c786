namespace BendCare.Cache.Connection;

/// <summary>The breaker's state, as exported by the <c>bendcare.cache.breaker.state</c> gauge.</summary>
internal enum BreakerState
{
    /// <summary>Redis is used.</summary>
    Closed = 0,

    /// <summary>One probe operation is testing Redis; every other request skips it.</summary>
    HalfOpen = 1,

    /// <summary>Redis is skipped until the open period ends or the connection reports it is restored.</summary>
    Open = 2,
}
