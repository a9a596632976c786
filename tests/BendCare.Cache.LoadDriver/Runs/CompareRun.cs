using BendCare.Cache.LoadDriver.Measuring;
using BendCare.Cache.LoadDriver.Traffic;

namespace BendCare.Cache.LoadDriver.Runs;

/// <summary>One measured steady-state window of one mode, and what the whole run (priming included) saw.</summary>
internal sealed record ModeResult(
    string Mode, Window Window, OutcomeCounts Total, IReadOnlyList<string> FailureSamples, string Server, string LoadAverage, IReadOnlyList<(string Line, int Count)> ServiceWarnings);

/// <summary>The cache-off and cache-on runs of <c>--compare</c>: the same traffic against a fresh service each time.</summary>
internal static class CompareRun
{
    /// <summary>Primes, runs <paramref name="warmup"/>, then measures <paramref name="measure"/> of steady state.</summary>
    public static async Task<ModeResult> MeasureAsync(
        bool cacheOn, TrafficOptions traffic, HostOptions host, TimeSpan warmup, TimeSpan measure, TextWriter progress, CancellationToken cancellationToken)
    {
        await using var session = await LoadSession.StartAsync(cacheOn, traffic, host, progress, cancellationToken);
        await Task.Delay(warmup, cancellationToken);
        var from = await session.SnapshotAsync(withMetrics: true, cancellationToken);
        progress.WriteLine($"[{session.Mode}] warm after {warmup.TotalSeconds:0} s; measuring {measure.TotalSeconds:0} s ...");
        await Task.Delay(measure, cancellationToken);
        var to = await session.SnapshotAsync(withMetrics: true, cancellationToken);
        string load = Machine.LoadAverage();
        await session.StopTrafficAsync();
        var window = new Window(from, to);
        progress.WriteLine($"[{session.Mode}] {window.RequestsPerSecond:0} requests/s, {window.QueriesPerRequest:0.000} queries/request, {window.Driver.Failures} failed; load average {load}");
        return new ModeResult(
            session.Mode,
            window,
            session.Traffic.Outcomes.Snapshot(),
            session.Traffic.Outcomes.FailureSamples,
            session.Cache?.ToString() ?? "none (the library's disabled mode)",
            load,
            session.Service.Warnings);
    }
}
