using System.Diagnostics;

namespace BendCare.Cache.Benchmarks;

/// <summary>
/// Hit-path throughput with many concurrent async callers, library against the hand-written baseline, interleaved in
/// A B B A blocks in one process so both sides share every burst of foreign load. Prints ops/s per side and the ratio.
/// </summary>
internal static class ConcurrentComparison
{
    public static async Task<int> RunAsync(int callers, int rounds, TimeSpan block)
    {
        await using var fixture = await BenchmarkFixture.CreateAsync();
        Console.WriteLine($"Redis {fixture.Server.Host}:{fixture.Server.Port}; {Environment.ProcessorCount} cores; {callers} concurrent callers; A B B A blocks of {block.TotalMilliseconds:F0} ms, {rounds * 2} blocks per side.");

        // Warm both paths (JIT, pools, connections).
        await RunBlockAsync(fixture.BaselineHitAsync, callers, TimeSpan.FromMilliseconds(500));
        await RunBlockAsync(fixture.LibraryHitAsync, callers, TimeSpan.FromMilliseconds(500));

        var baseline = new List<double>();
        var library = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            baseline.Add(await RunBlockAsync(fixture.BaselineHitAsync, callers, block));
            library.Add(await RunBlockAsync(fixture.LibraryHitAsync, callers, block));
            library.Add(await RunBlockAsync(fixture.LibraryHitAsync, callers, block));
            baseline.Add(await RunBlockAsync(fixture.BaselineHitAsync, callers, block));
        }

        double b = Median(baseline);
        double l = Median(library);
        Console.WriteLine($"hit, {callers} callers: baseline {b:F0} ops/s, library {l:F0} ops/s, library/baseline {l / b:F3}");
        return 0;
    }

    private static async Task<double> RunBlockAsync(Func<ValueTask<UserContext?>> call, int callers, TimeSpan block)
    {
        long operations = 0;
        long until = Stopwatch.GetTimestamp() + (long)(block.TotalSeconds * Stopwatch.Frequency);
        long started = Stopwatch.GetTimestamp();
        var workers = new Task[callers];
        for (int i = 0; i < callers; i++)
        {
            workers[i] = Task.Run(async () =>
            {
                long mine = 0;
                while (Stopwatch.GetTimestamp() < until)
                {
                    _ = await call().ConfigureAwait(false);
                    mine++;
                }

                Interlocked.Add(ref operations, mine);
            });
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        return operations / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
