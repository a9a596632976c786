using System.Globalization;
using BendCare.Cache.LoadDriver.Measuring;
using BendCare.Cache.LoadDriver.Traffic;

namespace BendCare.Cache.LoadDriver.Runs;

/// <summary>The Markdown reports of <c>--compare</c> and <c>--outage</c>.</summary>
internal static class Report
{
    /// <summary>Why each query name can still run with the cache on.</summary>
    private static readonly Dictionary<string, string> Why = new(StringComparer.Ordinal)
    {
        ["token_revoked"] = "a token's first request, and again each time its cached \"not revoked\" (1 min) has expired",
        ["jwt_payload"] = "a token's first request (tokens from logins); entries live 5 min",
        ["user_context"] = "after an edit invalidated it (a role edit: every user holding the role), or its 5 min have passed",
        ["user_basic"] = "a login whose user's basic entry (5 min) is not cached",
        ["role_permissions"] = "GET /roles/{id}/permissions (not in this traffic)",
        ["issue_token"] = "every login records its token: a write, never cached",
        ["revoke_token"] = "every logout records the revocation: a write, never cached",
        ["set_user_roles"] = "the admin's user role edits: writes",
        ["set_role_permissions"] = "the admin's role permission edits: writes",
    };

    public static string Compare(ModeResult off, ModeResult on, TrafficOptions traffic, HostOptions host, TimeSpan warmup, TimeSpan measure, double target)
    {
        var w = new StringWriter(CultureInfo.InvariantCulture);
        Window a = off.Window, b = on.Window;
        double reduction = 1 - b.QueriesPerRequest / a.QueriesPerRequest;
        w.WriteLine("## Database queries per request, cache off and on");
        w.WriteLine();
        w.WriteLine(Invariant($"Traffic: {traffic.Describe()}. Each mode: a fresh service process and SQLite file (cache on: a fresh Redis), every user primed (logged in, one request), {warmup.TotalSeconds:0} s warm-up, then {measure.TotalSeconds:0} s measured from `/stats` (seed excluded)."));
        if (host.ServiceSettings.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("Service settings: " + string.Join(", ", host.ServiceSettings.Select(s => $"`{s.Key}={s.Value}`")) + ".");
        }
        w.WriteLine();
        w.WriteLine("| | cache off | cache on |");
        w.WriteLine("|---|---:|---:|");
        Row(w, "requests (all kinds)", a.Requests.ToString("N0", CultureInfo.InvariantCulture), b.Requests.ToString("N0", CultureInfo.InvariantCulture));
        Row(w, "requests/s", a.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture), b.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture));
        Row(w, "database queries", a.Queries.ToString("N0", CultureInfo.InvariantCulture), b.Queries.ToString("N0", CultureInfo.InvariantCulture));
        Row(w, "**database queries per request**", $"**{a.QueriesPerRequest:0.000}**", $"**{b.QueriesPerRequest:0.0000}**");
        Row(w, "failed requests (window / whole run)", $"{a.Driver.Failures} / {off.Total.Failures}", $"{b.Driver.Failures} / {on.Total.Failures}");
        Row(w, "hit rate, all cache types", Percent(a.HitRate), Percent(b.HitRate));
        Row(w, "Redis errors / timeouts / write-backs dropped", "-", Invariant($"{b.Trouble.Errors:0} / {b.Trouble.Timeouts:0} / {b.Trouble.WriteBacksDropped:0}"));
        Row(w, "load average at the end (1, 5, 15 min)", off.LoadAverage, on.LoadAverage);
        w.WriteLine();
        w.WriteLine(Invariant($"**Reduction: {reduction * 100:0.0} %** fewer database queries per request with the cache on (target {target * 100:0} %: {(reduction >= target ? "met" : "NOT met")})."));
        w.WriteLine();
        w.WriteLine("### The queries left with the cache on");
        w.WriteLine();
        w.WriteLine("| query | count | per request | share | why it still runs |");
        w.WriteLine("|---|---:|---:|---:|---|");
        foreach (var (name, count) in b.QueriesByName)
        {
            w.WriteLine(Invariant($"| `{name}` | {count:N0} | {(double)count / b.Requests:0.0000} | {(double)count / b.Queries * 100:0.0} % | {Why.GetValueOrDefault(name, "")} |"));
        }

        w.WriteLine();
        w.WriteLine("| cache type | hits | misses | hit rate |");
        w.WriteLine("|---|---:|---:|---:|");
        foreach (string type in b.To.Stats.CacheTypes.Keys.Order(StringComparer.Ordinal))
        {
            var c = b.CacheType(type);
            w.WriteLine(Invariant($"| {type} | {c.Hits:N0} | {c.Misses:N0} | {Percent(c.Hits + c.Misses == 0 ? double.NaN : (double)c.Hits / (c.Hits + c.Misses))} |"));
        }

        w.WriteLine();
        w.WriteLine("### What the driver did in the measured window");
        w.WriteLine();
        w.WriteLine("| | cache off | cache on |");
        w.WriteLine("|---|---:|---:|");
        DriverRows(w, a.Driver, b.Driver);
        WriteFailures(w, off.Mode, off.FailureSamples);
        WriteFailures(w, on.Mode, on.FailureSamples);
        WriteWarnings(w, on.Mode, on.ServiceWarnings);
        w.WriteLine();
        w.WriteLine(Invariant($"Servers: cache on used {on.Server}."));
        return w.ToString();
    }

    public static string Outage(OutageResult run, string? plotPath)
    {
        var w = new StringWriter(CultureInfo.InvariantCulture);
        w.WriteLine("## Redis killed under load");
        w.WriteLine();
        w.WriteLine(Invariant($"Traffic: {run.Traffic.Describe()}. Redis killed with kill -9 at {run.Killed.TotalSeconds:0.0} s, started again (empty) on the same port at {run.Restarted.TotalSeconds:0.0} s; run ended at {run.Ended.TotalSeconds:0.0} s; `/stats` sampled every {run.Phases.SampleEvery.TotalMilliseconds:0} ms ({run.Samples.Count} samples, {run.SamplerErrors} failed)."));
        w.WriteLine();
        w.WriteLine("| window | seconds | requests/s | database queries/s | queries per request | hit rate | Redis errors / timeouts / write-backs dropped |");
        w.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        (string Name, Window Window)[] windows =
            [("before (Redis up)", run.Before), ("Redis down", run.During), ("first 5 s after the restart", run.Refill), (Invariant($"after (last {run.Phases.Settled.TotalSeconds:0} s)"), run.After)];
        foreach (var (name, window) in windows)
        {
            w.WriteLine(Invariant($"| {name} | {window.Seconds:0.0} | {window.RequestsPerSecond:N0} | {window.QueriesPerSecond:N0} | {window.QueriesPerRequest:0.000} | {Percent(window.HitRate)} | {window.Trouble.Errors:0} / {window.Trouble.Timeouts:0} / {window.Trouble.WriteBacksDropped:0} |"));
        }

        w.WriteLine();
        w.WriteLine("Database queries per second by name:");
        w.WriteLine();
        w.WriteLine("| window | " + string.Join(" | ", windows.Select(x => x.Name)) + " |");
        w.WriteLine("|---|" + string.Concat(windows.Select(_ => "---:|")));
        foreach (string query in windows.SelectMany(x => x.Window.QueriesByName.Select(q => q.Name)).Distinct().Order(StringComparer.Ordinal))
        {
            w.WriteLine($"| `{query}` | " + string.Join(" | ", windows.Select(x => Invariant($"{x.Window.QueriesByName.FirstOrDefault(q => q.Name == query).Count / x.Window.Seconds:0.0}"))) + " |");
        }

        w.WriteLine();
        w.WriteLine(Invariant($"**Failed requests: {run.Total.Failures} of {run.Total.Requests:N0}** (whole run, priming included; a failure is an exception or a status other than the expected one)."));
        w.WriteLine(Invariant($"Hit rate back to 90 % or more: {(run.HitsBackAfter is { } back ? $"{back.TotalSeconds:0.0} s after the restart" : "not within the run")}. Load average at the end: {run.LoadAverage}."));
        if (plotPath is not null)
        {
            w.WriteLine(Invariant($"Plot: {plotPath}."));
        }

        w.WriteLine();
        w.WriteLine("| whole run | |");
        w.WriteLine("|---|---:|");
        foreach (var (name, value) in DriverCounts(run.Total))
        {
            w.WriteLine($"| {name} | {value} |");
        }

        WriteFailures(w, "outage run", run.FailureSamples);
        WriteWarnings(w, "outage run", run.ServiceWarnings);
        return w.ToString();
    }

    private static void DriverRows(StringWriter w, OutcomeCounts a, OutcomeCounts b)
    {
        foreach (var ((name, first), (_, second)) in DriverCounts(a).Zip(DriverCounts(b)))
        {
            Row(w, name, first, second);
        }
    }

    private static IEnumerable<(string Name, string Value)> DriverCounts(OutcomeCounts c) =>
    [
        ("protected GETs answered as expected", c.ResourceRequests.ToString("N0", CultureInfo.InvariantCulture)),
        ("of which 403 (the user lacks the permission)", c.Forbidden.ToString("N0", CultureInfo.InvariantCulture)),
        ("of which the state before or after an edit in flight", c.DuringEdit.ToString("N0", CultureInfo.InvariantCulture)),
        ("401 for a token being logged out by another request", c.AfterOwnLogout.ToString("N0", CultureInfo.InvariantCulture)),
        ("logins (new tokens)", c.Logins.ToString("N0", CultureInfo.InvariantCulture)),
        ("logouts (revocations)", c.Logouts.ToString("N0", CultureInfo.InvariantCulture)),
        ("user role edits", c.UserEdits.ToString("N0", CultureInfo.InvariantCulture)),
        ("role permission edits", c.RoleEdits.ToString("N0", CultureInfo.InvariantCulture)),
        ("failed requests", c.Failures.ToString("N0", CultureInfo.InvariantCulture)),
    ];

    private static void WriteFailures(StringWriter w, string mode, IReadOnlyList<string> samples)
    {
        if (samples.Count == 0)
        {
            return;
        }

        w.WriteLine();
        w.WriteLine($"First failures ({mode}):");
        foreach (string failure in samples)
        {
            w.WriteLine($"- {failure}");
        }

        w.WriteLine();
    }

    private static void WriteWarnings(StringWriter w, string mode, IReadOnlyList<(string Line, int Count)> warnings)
    {
        if (warnings.Count == 0)
        {
            return;
        }

        w.WriteLine();
        w.WriteLine($"The service's warnings and errors ({mode}, whole run, each distinct line with its count):");
        w.WriteLine();
        foreach (var (line, count) in warnings.Take(15))
        {
            w.WriteLine($"- {count} × `{line}`");
        }
    }

    private static void Row(StringWriter w, string name, string first, string second) => w.WriteLine($"| {name} | {first} | {second} |");

    private static string Percent(double share) => double.IsNaN(share) ? "-" : Invariant($"{share * 100:0.0} %");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
