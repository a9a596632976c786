using System.Globalization;

namespace BendCare.Cache.LoadDriver.Traffic;

/// <summary>The shape of the traffic; the defaults are the realistic mix the published figures use.</summary>
internal sealed record TrafficOptions
{
    /// <summary>Concurrent virtual users, each sending its next request when the last one is answered (no think time).</summary>
    public int VirtualUsers { get; init; } = 32;

    /// <summary>
    /// At most this many protected GETs per second over all virtual users (an open-loop pace shared by them); zero: each
    /// virtual user sends its next request as soon as the last one is answered.
    /// </summary>
    public double RequestsPerSecond { get; init; }

    /// <summary>How many of the seeded users <c>u1..u1000</c> make requests.</summary>
    public int Users { get; init; } = RbacModel.Users;

    /// <summary>Popularity skew: the user of rank k makes requests in proportion to 1/k^s.</summary>
    public double ZipfExponent { get; init; } = 1.0;

    /// <summary>
    /// How long a user's session (one token) lasts on average (exponentially distributed, capped 5 min before the
    /// token's 1-hour expiry); the next request after it ends logs in again.
    /// </summary>
    public TimeSpan MeanSession { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The share of ended sessions that log out (a revocation); the others just log in again (a new device, a closed browser).</summary>
    public double LogoutShare { get; init; } = 0.5;

    /// <summary>How often the admin replaces a user's roles (<c>PUT /users/{id}/roles</c>); zero: never.</summary>
    public TimeSpan UserEditEvery { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the admin replaces a role's permissions (<c>PUT /roles/{id}/permissions</c>); zero: never.</summary>
    public TimeSpan RoleEditEvery { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The share of requests for a page picked without looking at the user's permissions (403 where it lacks them).</summary>
    public double OffPermissionShare { get; init; } = 0.05;

    /// <summary>Seeds every random choice (popularity order, users, pages, sessions, edits).</summary>
    public int Seed { get; init; } = 1;

    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"{VirtualUsers} virtual users{(RequestsPerSecond > 0 ? $" paced at {RequestsPerSecond:0} requests/s" : "")}, Zipf s={ZipfExponent:0.##} over {Users} users, sessions {MeanSession.TotalMinutes:0.#} min on average ({LogoutShare:P0} end in a logout), "
        + $"a user role edit every {Every(UserEditEvery)}, a role permission edit every {Every(RoleEditEvery)}, seed {Seed}");

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(VirtualUsers, 1, nameof(VirtualUsers));
        ArgumentOutOfRangeException.ThrowIfNegative(RequestsPerSecond, nameof(RequestsPerSecond));
        ArgumentOutOfRangeException.ThrowIfLessThan(Users, 1, nameof(Users));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Users, RbacModel.Users, nameof(Users));
        ArgumentOutOfRangeException.ThrowIfNegative(ZipfExponent, nameof(ZipfExponent));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MeanSession, TimeSpan.Zero, nameof(MeanSession));
        ArgumentOutOfRangeException.ThrowIfNegative(LogoutShare, nameof(LogoutShare));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(LogoutShare, 1, nameof(LogoutShare));
        ArgumentOutOfRangeException.ThrowIfNegative(OffPermissionShare, nameof(OffPermissionShare));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(OffPermissionShare, 1, nameof(OffPermissionShare));
        ArgumentOutOfRangeException.ThrowIfLessThan(UserEditEvery, TimeSpan.Zero, nameof(UserEditEvery));
        ArgumentOutOfRangeException.ThrowIfLessThan(RoleEditEvery, TimeSpan.Zero, nameof(RoleEditEvery));
    }

    private static string Every(TimeSpan interval) =>
        interval == TimeSpan.Zero ? "never" : string.Create(CultureInfo.InvariantCulture, $"{interval.TotalSeconds:0.#} s");
}
