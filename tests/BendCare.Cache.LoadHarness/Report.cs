using System.Globalization;
using System.Text;

namespace BendCare.Cache.LoadHarness;

/// <summary>Markdown tables, with the machine's load before and after each.</summary>
internal static class Report
{
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    public static void HitTable(string title, IReadOnlyList<Subject> subjects, int callers, string loadBefore, string sampling)
    {
        var baseline = subjects[0];
        double baseOps = baseline.For(callers).MedianOpsPerSecond;
        double baseMean = Histograms.MeanMicros(baseline.For(1).Latency);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"### {title}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"load average before {loadBefore}, after {LoadAverage()}; {sampling}; CPU µs/op: this process's CPU time (every thread) per call, the server's not included");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"| subject | {callers} callers ops/s | × first | p50 µs | p99 µs | p99.9 µs | B/op | CPU µs/op | 1 caller mean µs | × first | p50 µs | p99 µs | p99.9 µs | B/op | CPU µs/op | loader calls |");
        sb.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var s in subjects)
        {
            var c = s.For(callers);
            var one = s.For(1);
            double mean = Histograms.MeanMicros(one.Latency);
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Name} | {c.MedianOpsPerSecond:N0} | {c.MedianOpsPerSecond / baseOps:F2} | {P(c, 50)} | {P(c, 99)} | {P(c, 99.9)} | {c.MedianBytesPerOp:N0} | {Cpu(c)} | {mean:F1} | {mean / baseMean:F2} | {P(one, 50)} | {P(one, 99)} | {P(one, 99.9)} | {one.MedianBytesPerOp:N0} | {Cpu(one)} | {s.LoaderCalls} |");
        }

        Console.WriteLine(sb.ToString());
    }

    public static void MissTable(MissSubject baseline, MissSubject library, int callers, string loadBefore)
    {
        var sb = new StringBuilder();
        sb.AppendLine("### Miss (a fresh key per call; the loader returns a prebuilt value at once)");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"load average before {loadBefore}, after {LoadAverage()}; 1 caller: the library's write-backs drained between calls (not timed for the caller, timed apart as \"write-back\"); {callers} callers: sustained, write-backs running alongside");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"| subject | 1 caller mean µs | × first | p50 µs | p99 µs | B/op (incl. write-back) | write-back mean µs | write-back p99 µs | {callers} callers ops/s | × first | B/op |");
        sb.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        double baseMean = Histograms.MeanMicros(baseline.For(1).Latency);
        double baseOps = baseline.For(callers).MedianOpsPerSecond;
        foreach (var s in new[] { baseline, library })
        {
            var one = s.For(1);
            var c = s.For(callers);
            double mean = Histograms.MeanMicros(one.Latency);
            bool wb = s.WriteBack.TotalCount > 0;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Name} | {mean:F1} | {mean / baseMean:F2} | {P(one, 50)} | {P(one, 99)} | {one.MedianBytesPerOp:N0} | {(wb ? Histograms.MeanMicros(s.WriteBack).ToString("F1", CultureInfo.InvariantCulture) : "—")} | {(wb ? Histograms.PercentileMicros(s.WriteBack, 99).ToString("F1", CultureInfo.InvariantCulture) : "—")} | {c.MedianOpsPerSecond:N0} | {c.MedianOpsPerSecond / baseOps:F2} | {c.MedianBytesPerOp:N0} |");
        }

        Console.WriteLine(sb.ToString());
    }

    private static string Cpu(Measurements m) => m.MedianCpuMicrosPerOp.ToString(m.MedianCpuMicrosPerOp < 1 ? "F3" : "F1", CultureInfo.InvariantCulture);

    private static string P(Measurements m, double percentile) =>
        Histograms.PercentileMicros(m.Latency, percentile).ToString(percentile >= 99.9 ? "F0" : "F1", CultureInfo.InvariantCulture);
}
