using System.Diagnostics;
using HdrHistogram;

namespace BendCare.Cache.LoadHarness;

/// <summary>One measured operation (a library hit, a baseline miss, a peer's L1 hit, ...) and what its blocks measured.</summary>
internal abstract class Subject(string name)
{
    public string Name { get; } = name;

    /// <summary>Loader calls on a path that should never call it (hits): a non-zero count means the subject was not measuring hits.</summary>
    public long LoaderCalls;

    /// <summary>Per mode (callers): the blocks' throughput, bytes/op and latencies.</summary>
    public Dictionary<int, Measurements> Results { get; } = [];

    /// <summary>Runs one caller until <paramref name="block"/> says stop; returns its operation count.</summary>
    public abstract Task<long> RunCallerAsync(Block block, LongHistogram latency, int firstKey);

    public Measurements For(int callers)
    {
        if (!Results.TryGetValue(callers, out var m))
        {
            Results[callers] = m = new Measurements();
        }

        return m;
    }
}

/// <summary>A subject whose call returns a value task (no wrapper state machine, so the harness adds no allocation per call).</summary>
internal sealed class Subject<T>(string name, Func<int, ValueTask<T>> call) : Subject(name)
{
    public override async Task<long> RunCallerAsync(Block block, LongHistogram latency, int firstKey)
    {
        long ops = 0;
        int key = firstKey;
        int keys = block.Keys;
        long mask = block.SampleMask;
        while (!block.Stop)
        {
            // Timestamps only on sampled calls: an L1 hit costs less than two clock reads.
            if ((ops & mask) == 0)
            {
                long t0 = Stopwatch.GetTimestamp();
                _ = await call(key).ConfigureAwait(false);
                Record(latency, Stopwatch.GetTimestamp() - t0);
            }
            else
            {
                _ = await call(key).ConfigureAwait(false);
            }

            ops++;
            if (++key == keys)
            {
                key = 0;
            }
        }

        return ops;
    }

    internal static void Record(LongHistogram histogram, long ticks) =>
        histogram.RecordValue(Math.Clamp(ticks, 1, histogram.HighestTrackableValue));
}

/// <summary>
/// A miss whose background work (the library's write-back) is timed apart: after each call, untimed for the caller, the
/// caller waits until no write-back is in flight and records that wait as the write-back's own latency.
/// </summary>
internal sealed class MissSubject(string name, Func<ValueTask<UserContext?>> call, Func<int> inFlight) : Subject(name)
{
    public LongHistogram WriteBack { get; } = Histograms.Create();

    public bool DrainWriteBacks { get; set; }

    public override async Task<long> RunCallerAsync(Block block, LongHistogram latency, int firstKey)
    {
        long ops = 0;
        while (!block.Stop)
        {
            long t0 = Stopwatch.GetTimestamp();
            _ = await call().ConfigureAwait(false);
            long t1 = Stopwatch.GetTimestamp();
            Subject<int>.Record(latency, t1 - t0);
            if (DrainWriteBacks)
            {
                var spin = default(SpinWait);
                while (inFlight() > 0)
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }

                lock (WriteBack)
                {
                    Subject<int>.Record(WriteBack, Stopwatch.GetTimestamp() - t1);
                }
            }

            ops++;
        }

        return ops;
    }
}

/// <summary>What one subject measured in one mode, over all its blocks.</summary>
internal sealed class Measurements
{
    public List<double> OpsPerSecond { get; } = [];

    public List<double> BytesPerOp { get; } = [];

    /// <summary>CPU time of this process per operation (every thread: callers, the client's reader and writer, GC), µs.</summary>
    public List<double> CpuMicrosPerOp { get; } = [];

    public LongHistogram Latency { get; } = Histograms.Create();

    public double MedianOpsPerSecond => Stats.Median(OpsPerSecond);

    public double MedianBytesPerOp => Stats.Median(BytesPerOp);

    public double MedianCpuMicrosPerOp => Stats.Median(CpuMicrosPerOp);
}

/// <summary>Shared by the callers of one block.</summary>
internal sealed class Block(int keys, long sampleMask)
{
    private volatile bool _stop;

    public int Keys { get; } = keys;

    /// <summary>0: every call timed; 15: every 16th.</summary>
    public long SampleMask { get; } = sampleMask;

    public bool Stop => _stop;

    public void End() => _stop = true;

    /// <summary>
    /// Ends the block after <paramref name="duration"/> from a thread of its own: callers whose calls complete
    /// synchronously (L1 hits) hold their pool threads for the whole block, so a pool timer could fire very late.
    /// </summary>
    public Task EndAfter(TimeSpan duration)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            Thread.Sleep(duration);
            End();
            ended.SetResult();
        })
        { IsBackground = true, Name = "block timer" }.Start();
        return ended.Task;
    }
}

internal static class Histograms
{
    /// <summary>Stopwatch ticks from 1 to 10 s, 3 significant digits.</summary>
    public static LongHistogram Create() => new(10 * Stopwatch.Frequency, 3);

    public static double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;

    public static double PercentileMicros(LongHistogram histogram, double percentile) =>
        histogram.TotalCount == 0 ? double.NaN : Micros(histogram.GetValueAtPercentile(percentile));

    public static double MeanMicros(LongHistogram histogram) =>
        histogram.TotalCount == 0 ? double.NaN : Micros((long)histogram.GetMean());
}

internal static class Stats
{
    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
