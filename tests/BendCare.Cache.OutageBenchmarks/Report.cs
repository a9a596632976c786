using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.OutageBenchmarks;

/// <summary>Statistics of one phase of calls.</summary>
internal sealed record PhaseStats(
    int Calls,
    double FirstMs,
    double FirstAddedMs,
    double P50,
    double P99,
    double Max,
    double AddedP50,
    double AddedP99,
    double AddedMax,
    double? AddedP99AfterOpen,
    int CallsAfterOpen,
    double TotalAddedMs,
    double SumAddedMs,
    int Threw,
    int Wrong,
    int Hits)
{
    public static PhaseStats Of(Phase phase, double baselineMeanMs, long? openedAt)
    {
        var samples = phase.Samples;
        var firsts = phase.Mode == Mode.Sequential ? samples.Take(1) : samples.Where(static s => s.Index == 0);
        var first = firsts.MaxBy(static s => s.LatencyMs)!;
        var latencies = samples.Select(static s => s.LatencyMs).ToArray();
        var added = samples.Select(static s => s.AddedMs).ToArray();
        var afterOpen = openedAt is { } open ? samples.Where(s => s.Start >= open).Select(static s => s.AddedMs).ToArray() : null;
        return new PhaseStats(
            samples.Count,
            first.LatencyMs,
            first.AddedMs,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            latencies.Max(),
            Percentile(added, 0.50),
            Percentile(added, 0.99),
            added.Max(),
            afterOpen is { Length: > 0 } ? Percentile(afterOpen, 0.99) : null,
            afterOpen?.Length ?? 0,
            latencies.Sum() - (samples.Count * baselineMeanMs),
            added.Sum(),
            samples.Count(static s => s.Threw),
            samples.Count(static s => s.Wrong && !s.Threw),
            samples.Count(static s => s.Hit));
    }

    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

internal static class Report
{
    public const double TargetP99AddedMs = 2.0;
    public const double TargetMaxAddedMs = 150.0;
    public const double TargetRecoverySeconds = 1.0;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(Settings settings, string command, string machine, (List<CallSample> Sequential, List<CallSample> Concurrent) baseline, IReadOnlyList<RunResult> results, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        double seqMean = baseline.Sequential.Average(static s => s.LatencyMs);
        double concMean = baseline.Concurrent.Average(static s => s.LatencyMs);
        if (settings.IsExperiment)
        {
            Line(sb, $"**{settings.ExperimentText}**  ");
        }

        Line(sb, $"Command: `{command}`  ");
        Line(sb, $"Machine: {machine}  ");
        Line(sb, $"Run time: {elapsed.TotalSeconds:F0} s ({(settings.Quick ? "quick" : "full")}); each fault held {settings.Hold.TotalSeconds:F0} s + 0–{settings.HoldJitter.TotalSeconds:F0} s at random (seed {settings.Seed}) from the moment it began; recovery polled every ~5 ms for ≤ {settings.RecoveryCap.TotalSeconds:F0} s.  ");
        Line(sb, $"Loader: `await Task.Delay({Load.LoaderDelay.TotalMilliseconds:F0})` (timer-based, ~1 ms granularity on Linux). "
            + $"Loader-only baseline in this run: sequential n={baseline.Sequential.Count} mean {F(seqMean)} ms, p50 {F(Pct(baseline.Sequential, 0.5))}, p99 {F(Pct(baseline.Sequential, 0.99))}; "
            + $"{settings.Workers}-way n={baseline.Concurrent.Count} mean {F(concMean)} ms, p50 {F(Pct(baseline.Concurrent, 0.5))}, p99 {F(Pct(baseline.Concurrent, 0.99))}.");
        Line(sb, "");
        Line(sb, $"BendCare.Cache: sequential = {settings.SequentialCalls} calls, concurrent = {settings.Workers} workers × {settings.CallsPerWorker} calls, each mode on its own fresh client instance. "
            + $"Plain StackExchange.Redis: one instance, sequential ≤ {settings.PlainSequentialCalls} calls then {settings.Workers} × ≤ {settings.PlainCallsPerWorker}, "
            + $"no new call started after {settings.PlainPhaseBudget.TotalSeconds:F0} s in a phase (its calls can each wait its 5 s default timeout).  ");
        Line(sb, "\"added\" = call time minus the time its own loader ran (the whole call on a hit). \"first\" = first call after the fault began (concurrent: worst of the 32 first calls). "
            + "\"total added\" = Σ of the per-call added times, and Σ call time − calls × loader-only mean of the same mode (the latter carries the machine's timer noise). All times in ms unless marked s.");
        Line(sb, "");

        var bendcare = results.Where(static r => r.Client == ClientKind.BendCare).ToList();
        var plain = results.Where(static r => r.Client == ClientKind.Plain).ToList();
        if (bendcare.Count > 0)
        {
            Line(sb, settings.IsExperiment ? "### BendCare.Cache (EXPERIMENT options): latency while faulted" : "### BendCare.Cache (default options): latency while faulted");
            Line(sb, "");
            Line(sb, "| fault | mode | calls | first (added) | p50 | p99 | max | added p50 / p99 / max | p99 added after breaker open (n) | total added: Σ per call / vs loader-only baseline | exceptions / wrong |");
            Line(sb, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var run in bendcare)
            {
                foreach (var phase in run.Phases)
                {
                    var s = PhaseStats.Of(phase, phase.Mode == Mode.Sequential ? seqMean : concMean, run.BreakerOpenedAt);
                    Line(sb, $"| {run.Fault} | {M(phase.Mode)} | {s.Calls} | {F(s.FirstMs)} ({F(s.FirstAddedMs)}) | {F(s.P50)} | {F(s.P99)} | {F(s.Max)} | {F(s.AddedP50)} / {F(s.AddedP99)} / {F(s.AddedMax)} | "
                        + $"{(s.AddedP99AfterOpen is { } a ? $"{F(a)} ({s.CallsAfterOpen})" : "not opened")} | {F(s.SumAddedMs)} / {F(s.TotalAddedMs)} ({F(s.TotalAddedMs / s.Calls)}/call) | {s.Threw} / {s.Wrong} |");
                }
            }

            Line(sb, "");
            Line(sb, "### BendCare.Cache: breaker, logs and recovery");
            Line(sb, "");
            Line(sb, "| fault | mode | start-up blocked | breaker opened after | state logs | hold: calls, >10 ms added, max added | fault removed by | first hit after removal | \"available again\" log after removal | invalidation replayed after removal |");
            Line(sb, "|---|---|--:|--:|---|--:|---|--:|--:|--:|");
            foreach (var run in bendcare)
            {
                var opened = run.BreakerOpenedAt is { } o ? $"{F(Stopwatch.GetElapsedTime(run.FaultAt, o).TotalMilliseconds)} ms" : "-";
                var recovered = run.RecoveredLogAt is { } r && run.RemovedAt is { } rm ? $"{Stopwatch.GetElapsedTime(rm, r).TotalSeconds:F2} s" : "-";
                Line(sb, $"| {run.Fault} | {M(run.Phases[0].Mode)} | {F(run.Startup.TotalMilliseconds)} ms | {opened} | {StateLogs(run)} | {Hold(run)} | {run.Removal} | {Recovery(run, settings)} | {recovered} | {Replayed(run)} |");
            }

            Line(sb, "");
        }

        if (plain.Count > 0)
        {
            Line(sb, "### Plain StackExchange.Redis cache-aside, client defaults (comparison)");
            Line(sb, "");
            Line(sb, "| fault | mode | calls | first (added) | p50 | p99 | max | added p50 / p99 / max | total added: Σ per call / vs loader-only baseline | start-up blocked | first hit after removal | GET errors swallowed |");
            Line(sb, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");
            foreach (var run in plain)
            {
                foreach (var phase in run.Phases)
                {
                    var s = PhaseStats.Of(phase, phase.Mode == Mode.Sequential ? seqMean : concMean, null);
                    bool firstRow = phase == run.Phases[0];
                    Line(sb, $"| {run.Fault} | {M(phase.Mode)} | {s.Calls} | {F(s.FirstMs)} ({F(s.FirstAddedMs)}) | {F(s.P50)} | {F(s.P99)} | {F(s.Max)} | {F(s.AddedP50)} / {F(s.AddedP99)} / {F(s.AddedMax)} | "
                        + $"{F(s.SumAddedMs)} / {F(s.TotalAddedMs)} ({F(s.TotalAddedMs / s.Calls)}/call) | {(firstRow ? F(run.Startup.TotalMilliseconds) + " ms" : "")} | {(firstRow ? Recovery(run, settings) : "")} | {(firstRow ? Errors(run) : "")} |");
                }
            }

            Line(sb, "");
        }

        if (bendcare.Count > 0)
        {
            Line(sb, settings.IsExperiment ? "### Targets (BendCare.Cache, EXPERIMENT options)" : "### Targets (BendCare.Cache, default options)");
            Line(sb, "");
            Line(sb, $"T1: p99 added ≤ {TargetP99AddedMs:F0} ms once the breaker is open (load phase, calls started after the breaker opened; all calls when it never opened). "
                + $"T2: no call (first included; load, hold and recovery polls) added > {TargetMaxAddedMs:F0} ms. T3: first hit ≤ {TargetRecoverySeconds:F0} s after the fault is removed / the server accepts connections.");
            Line(sb, "");
            Line(sb, "| fault | mode | T1 p99 added after open | T2 max added, all calls | T3 recovery |");
            Line(sb, "|---|---|--:|--:|--:|");
            foreach (var run in bendcare)
            {
                var phase = run.Phases[0];
                var s = PhaseStats.Of(phase, 0, run.BreakerOpenedAt);
                double t1 = s.AddedP99AfterOpen ?? s.AddedP99;
                double t2 = run.AllCalls.Max(static c => c.AddedMs);
                string t3 = run.RecoverySeconds is { } rs ? $"{rs:F2} s {Verdict(rs <= TargetRecoverySeconds)}" : run.RemovedAt is null ? "n/a" : $"> {settings.RecoveryCap.TotalSeconds:F0} s ✗";
                bool reference = run.Fault == "healthy";
                Line(sb, reference
                    ? $"| {run.Fault} (reference, no fault) | {M(phase.Mode)} | {F(t1)} | {F(t2)} | n/a |"
                    : $"| {run.Fault} | {M(phase.Mode)} | {F(t1)} {Verdict(t1 <= TargetP99AddedMs)} | {F(t2)} {Verdict(t2 <= TargetMaxAddedMs)} | {t3} |");
            }

            Line(sb, "");
        }

        var recoveries = results.Where(static r => r.RemovedAt is not null).GroupBy(static r => (r.Fault, r.Client)).ToList();
        if (recoveries.Count > 0)
        {
            Line(sb, "### Recovery samples (seconds from fault removal / server accepting to the first hit)");
            Line(sb, "");
            Line(sb, "| fault | client | samples (s) | max | ≤ 1 s |");
            Line(sb, "|---|---|---|--:|--:|");
            foreach (var group in recoveries)
            {
                var values = group.Select(static r => r.RecoverySeconds).ToList();
                var known = values.Where(static v => v is not null).Select(static v => v!.Value).ToList();
                string max = values.Any(static v => v is null) ? $"> {settings.RecoveryCap.TotalSeconds:F0}" : known.Max().ToString("F2", Inv);
                Line(sb, $"| {group.Key.Fault} | {group.Key.Client} | {string.Join(", ", values.Select(v => v is { } x ? x.ToString("F2", Inv) : "none"))} | {max} | {known.Count(static v => v <= TargetRecoverySeconds)}/{values.Count} |");
            }

            Line(sb, "");
        }

        return sb.ToString();
    }

    private static string Recovery(RunResult run, Settings settings) =>
        run.RemovedAt is null ? "n/a" : run.RecoverySeconds is { } s ? $"{s:F2} s" : $"none in {settings.RecoveryCap.TotalSeconds:F0} s";

    private static string Replayed(RunResult run) =>
        run.InvalidatedAt is null ? "-" : run.ReplayedLogAt is { } r && run.RemovedAt is { } rm ? $"{Stopwatch.GetElapsedTime(rm, r).TotalSeconds:F2} s" : "not replayed";

    private static string StateLogs(RunResult run)
    {
        var lines = run.Logs.Where(static l => l.IsLibrary && l.EventId is 2003 or 2004 or 2005 or 2006).ToList();
        if (lines.Count == 0)
        {
            return "none";
        }

        return string.Join(", ", lines.GroupBy(static l => (l.EventId, l.Level)).Select(g => $"{g.Key.EventId} {Level(g.Key.Level)}×{g.Count()}{Reason(g.First().Message)}"));
    }

    private static string Reason(string message)
    {
        int open = message.IndexOf('(', StringComparison.Ordinal);
        int close = open < 0 ? -1 : message.IndexOf(')', open);
        return open >= 0 && close > open && close - open < 20 && !message.StartsWith("Redis cache available", StringComparison.Ordinal) ? $" ({message[(open + 1)..close]})" : "";
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Error => "Error",
        LogLevel.Warning => "Warn",
        LogLevel.Information => "Info",
        _ => level.ToString(),
    };

    private static string Hold(RunResult run)
    {
        if (run.Hold.Count == 0)
        {
            return "0";
        }

        return $"{run.Hold.Count}, {run.Hold.Count(static c => c.AddedMs > 10)}, {F(run.Hold.Max(static c => c.AddedMs))}";
    }

    private static string Errors(RunResult run) =>
        run.PlainErrors is not { Count: > 0 } errors ? "none" : string.Join(", ", errors.OrderByDescending(static e => e.Value).Select(static e => $"{e.Key}×{e.Value}"));

    private static string Verdict(bool met) => met ? "✓" : "✗";

    private static string M(Mode mode) => mode == Mode.Sequential ? "seq" : "32×";

    private static double Pct(List<CallSample> samples, double p) => PhaseStats.Percentile(samples.Select(static s => s.LatencyMs).ToArray(), p);

    public static string F(double ms) => double.IsNaN(ms) ? "-" : ms >= 100 ? ms.ToString("F0", Inv) : ms >= 10 ? ms.ToString("F1", Inv) : ms.ToString("F2", Inv);

    private static void Line(StringBuilder sb, string text) => sb.Append(text).Append('\n');
}
