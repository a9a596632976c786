using System.Diagnostics;
using HdrHistogram;

namespace BendCare.Cache.LoadHarness;

/// <summary>
/// Runs subjects in interleaved blocks: each round runs them in order, then in reverse order (A B B A for two), so a
/// burst of foreign load on the shared machine lands on every subject alike. Throughput and bytes/op are medians over
/// the blocks; latencies are merged over them.
/// </summary>
internal sealed class Runner(int keys, TimeSpan block, int rounds)
{
    private readonly LongHistogram[] _callerHistograms = Enumerable.Range(0, 64).Select(_ => Histograms.Create()).ToArray();

    public async Task RunAsync(IReadOnlyList<Subject> subjects, int callers, long sampleMask)
    {
        // Warm-up: JIT, pools, connections, tiered compilation of each path.
        foreach (var subject in subjects)
        {
            await RunBlockAsync(subject, callers, TimeSpan.FromMilliseconds(Math.Min(300, block.TotalMilliseconds)), sampleMask, record: false);
        }

        for (int round = 0; round < rounds; round++)
        {
            foreach (var subject in subjects)
            {
                await RunBlockAsync(subject, callers, block, sampleMask, record: true);
            }

            for (int i = subjects.Count - 1; i >= 0; i--)
            {
                await RunBlockAsync(subjects[i], callers, block, sampleMask, record: true);
            }
        }
    }

    private async Task RunBlockAsync(Subject subject, int callers, TimeSpan duration, long sampleMask, bool record)
    {
        var signal = new Block(keys, sampleMask);
        var histograms = _callerHistograms.AsSpan(0, callers);
        foreach (var h in histograms)
        {
            h.Reset();
        }

        var tasks = new Task<long>[callers];
        long bytesBefore = GC.GetTotalAllocatedBytes(precise: true);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < callers; i++)
        {
            var histogram = _callerHistograms[i];
            int firstKey = (int)((long)i * keys / callers);
            tasks[i] = Task.Run(() => subject.RunCallerAsync(signal, histogram, firstKey));
        }

        await signal.EndAfter(duration);
        long ops = 0;
        foreach (var task in tasks)
        {
            ops += await task;
        }

        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - bytesBefore;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        if (!record || ops == 0)
        {
            return;
        }

        var m = subject.For(callers);
        m.OpsPerSecond.Add(ops / seconds);
        m.BytesPerOp.Add((double)bytes / ops);
        m.CpuMicrosPerOp.Add(cpu.TotalMicroseconds / ops);
        for (int i = 0; i < callers; i++)
        {
            m.Latency.Add(_callerHistograms[i]);
        }
    }
}
