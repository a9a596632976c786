using System.ComponentModel.DataAnnotations;

namespace BendCare.Cache;

/// <summary>The cache types that may keep values in the in-process cache (L1). Combine with <c>|</c>.</summary>
[Flags]
public enum LocalCacheTypes
{
    /// <summary>No in-process cache (the default): every read goes to Redis.</summary>
    None = 0,

    /// <summary>User contexts (a role edit flushes them all from every instance's L1).</summary>
    UserContext = 1,

    /// <summary>Role permissions: read on every request, edited rarely; the natural first user.</summary>
    RolePermissions = 2,

    /// <summary>User basic info.</summary>
    UserBasic = 4,

    /// <summary>The token blacklist: a "blacklisted" answer is kept until its lifetime ends, even while unverified.</summary>
    TokenBlacklist = 8,

    /// <summary>Decoded JWT payloads (still bound to their raw token and never kept past the token's expiry).</summary>
    JwtPayload = 16,
}

/// <summary>
/// The opt-in in-process cache in front of Redis. Unlike a fire-and-forget L1, its invalidation is as strong as the
/// Redis path's: after an invalidation, role edit, set or blacklisting returns (Redis reachable), no instance serves the
/// earlier value from its L1. Each invalidation waits for every instance's acknowledgement, at most
/// <see cref="VerificationWindow"/>; an instance serves from L1 only while its own heartbeat keeps coming back through
/// the invalidation channel. While the channel is down or unverified, L1 is bypassed and emptied. See docs/freshness.md.
/// Instances may differ in <see cref="Types"/> (each broadcasts writes of every type), but one with L1 off broadcasts nothing: see docs/freshness.md (G6) for turning it on in a rolling deploy.
/// </summary>
public sealed class BendCareLocalCacheOptions
{
    // See BendCareCacheOptions: the attributes are evaluated only by the source-generated validator.
#pragma warning disable IL2026

    /// <summary>The cache types kept in L1.</summary>
    /// <value>The default is <see cref="LocalCacheTypes.None"/> (off).</value>
    public LocalCacheTypes Types { get; set; }

    /// <summary>The most entries each cache type keeps; past it the least recently read are evicted.</summary>
    /// <value>The default is 10 000. It must be at least 1.</value>
    [Range(1, int.MaxValue)]
    public int MaxEntriesPerType { get; set; } = 10_000;

    /// <summary>The most bytes (serialised size) each cache type keeps; past it the least recently read are evicted.</summary>
    /// <value>The default is 16 MiB. It must be at least 1 KiB.</value>
    [Range(1024, long.MaxValue)]
    public long MaxBytesPerType { get; set; } = 16 * 1024 * 1024;

    /// <summary>How often each instance publishes the heartbeat that verifies its subscription.</summary>
    /// <value>The default is 100 ms. It must be positive and at most a third of <see cref="VerificationWindow"/>.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How long after its send time a returned heartbeat lets an instance serve from L1, and so the longest an
    /// invalidation waits for an instance that does not acknowledge it.
    /// </summary>
    /// <value>The default is 500 ms. It must be positive and at most 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan VerificationWindow { get; set; } = TimeSpan.FromMilliseconds(500);

#pragma warning restore IL2026
}
