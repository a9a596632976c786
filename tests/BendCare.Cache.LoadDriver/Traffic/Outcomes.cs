using System.Collections.Concurrent;

namespace BendCare.Cache.LoadDriver.Traffic;

/// <summary>What the driver's requests got, counted as they complete (a snapshot minus an earlier one is a window).</summary>
internal sealed class Outcomes
{
    private const int KeptFailures = 20;

    private readonly ConcurrentQueue<string> _failureSamples = new();
    private long _resourceRequests;
    private long _forbidden;
    private long _logins;
    private long _logouts;
    private long _userEdits;
    private long _roleEdits;
    private long _failures;
    private long _duringEdit;
    private long _afterOwnLogout;

    /// <summary>The first failures, with what was expected and what came.</summary>
    public IReadOnlyList<string> FailureSamples => [.. _failureSamples];

    public void Resource(bool forbidden)
    {
        Interlocked.Increment(ref _resourceRequests);
        if (forbidden)
        {
            Interlocked.Increment(ref _forbidden);
        }
    }

    public void Login() => Interlocked.Increment(ref _logins);

    public void Logout() => Interlocked.Increment(ref _logouts);

    public void UserEdit() => Interlocked.Increment(ref _userEdits);

    public void RoleEdit() => Interlocked.Increment(ref _roleEdits);

    /// <summary>A request that overlapped an edit of the driver's admin: 200 and 403 were both right.</summary>
    public void DuringEdit() => Interlocked.Increment(ref _duringEdit);

    /// <summary>A 401 for a token the driver had started to log out while the request was in flight (another tab's request).</summary>
    public void AfterOwnLogout() => Interlocked.Increment(ref _afterOwnLogout);

    public void Failure(string what)
    {
        if (Interlocked.Increment(ref _failures) <= KeptFailures)
        {
            _failureSamples.Enqueue(what);
        }
    }

    public OutcomeCounts Snapshot() => new(
        Interlocked.Read(ref _resourceRequests),
        Interlocked.Read(ref _forbidden),
        Interlocked.Read(ref _logins),
        Interlocked.Read(ref _logouts),
        Interlocked.Read(ref _userEdits),
        Interlocked.Read(ref _roleEdits),
        Interlocked.Read(ref _failures),
        Interlocked.Read(ref _duringEdit),
        Interlocked.Read(ref _afterOwnLogout));
}

/// <summary>Counts of <see cref="Outcomes"/> at one moment, or between two (<c>later - earlier</c>).</summary>
/// <param name="ResourceRequests">Protected GETs (<c>/reports</c>, <c>/patients</c>, <c>/billing</c>) answered as expected, 403s included.</param>
/// <param name="Forbidden">Of those, the expected 403s.</param>
/// <param name="Failures">Requests that threw or got a status other than the expected one.</param>
internal readonly record struct OutcomeCounts(
    long ResourceRequests, long Forbidden, long Logins, long Logouts, long UserEdits, long RoleEdits, long Failures, long DuringEdit, long AfterOwnLogout)
{
    /// <summary>Every request the driver sent: protected GETs (401s after its own logout included), logins, logouts, edits, failures.</summary>
    public long Requests => ResourceRequests + AfterOwnLogout + Logins + Logouts + UserEdits + RoleEdits + Failures;

    public static OutcomeCounts operator -(OutcomeCounts later, OutcomeCounts earlier) => new(
        later.ResourceRequests - earlier.ResourceRequests,
        later.Forbidden - earlier.Forbidden,
        later.Logins - earlier.Logins,
        later.Logouts - earlier.Logouts,
        later.UserEdits - earlier.UserEdits,
        later.RoleEdits - earlier.RoleEdits,
        later.Failures - earlier.Failures,
        later.DuringEdit - earlier.DuringEdit,
        later.AfterOwnLogout - earlier.AfterOwnLogout);
}
