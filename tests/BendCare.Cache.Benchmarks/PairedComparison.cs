using System.Diagnostics;
using System.Text.Json;
using BendCare.Cache.Serialization;
using StackExchange.Redis;

namespace BendCare.Cache.Benchmarks;

/// <summary>
/// <c>--paired</c>: a noise-robust A/B check to read next to the BenchmarkDotNet table. BenchmarkDotNet measures
/// one benchmark after the other, so on a shared or 2-core machine a burst of foreign load can land on one side only.
/// Here baseline and library run in alternating blocks (A B B A, repeated) in one process against one Redis, so both
/// see the same background noise. Reported per side: the median block's wall time per call and this process's CPU
/// time per call (all threads, the multiplexer's included; far less sensitive to neighbours than wall time).
/// </summary>
internal static class PairedComparison
{
    public static async Task<int> RunAsync(int rounds, int blockCalls)
    {
        await using var fixture = await BenchmarkFixture.CreateAsync();
        Console.WriteLine($"Redis {fixture.Server.Host}:{fixture.Server.Port} (owned: {fixture.Server.IsOwned}); {Environment.ProcessorCount} cores; A B B A blocks, medians of {rounds * 2} blocks per side.");
        Console.WriteLine();
        Console.WriteLine($"{"Path",-18} {"calls/block",11} | {"wall us/op B",12} {"wall us/op L",12} {"L/B time",9} {"L thrpt x",9} {"L faster",9} | {"CPU us/op B",11} {"CPU us/op L",11} {"L/B CPU",8}");

        await CompareAsync("hit", fixture, fixture.BaselineHitAsync, fixture.LibraryHitAsync, rounds, blockCalls, drain: false);
        await CompareAsync("miss", fixture, fixture.BaselineMissAsync, fixture.LibraryMissAsync, rounds, Math.Max(1, blockCalls / 2), drain: false);

        // Caller-perceived latency of a miss when its background write-back does not compete with the next call:
        // after each timed call, wait (untimed) until the library has no write-back pending. CPU is not comparable
        // here (the wait spins), so it is not reported.
        await CompareAsync("miss, drained", fixture, fixture.BaselineMissAsync, fixture.LibraryMissAsync, rounds / 2, Math.Max(1, blockCalls / 10), drain: true);

        // The same hit comparison with the caller blocked on each call from a dedicated thread, the way
        // BenchmarkDotNet waits for a ValueTask (Monitor.Wait until the continuation pulses).
        await CompareBlockingAsync("hit, caller blocks", fixture.BaselineHitAsync, fixture.LibraryHitAsync, rounds, blockCalls);

        // Where a hit's time goes, same method: A = a cheaper variant, B = what the library does.
        var connection = ((RedisRbacCache)fixture.Cache).Engine.Connection;
        var db = fixture.Database;
        RedisKey libraryKey = "user_context:" + BenchmarkFixture.HitUserId;
        Console.WriteLine();
        Console.WriteLine("Diagnostics (B = the cheaper variant, L = what the library does):");
        await CompareAsync(
            "GET lease: raw db.StringGetLeaseAsync (B) vs RedisConnection.ExecuteAsync guard (L)",
            fixture,
            async () => (await db.StringGetLeaseAsync(libraryKey).ConfigureAwait(false))?.Dispose(),
            async () => (await connection.ExecuteAsync(libraryKey, static (d, k) => d.StringGetLeaseAsync(k), libraryKey, "user_context").ConfigureAwait(false)).Value?.Dispose(),
            rounds,
            blockCalls,
            drain: false);
        await CompareAsync(
            "hit: hand-written GET lease + Envelope.Read + deserialise (B) vs library hit (L)",
            fixture,
            async () =>
            {
                using var lease = await db.StringGetLeaseAsync(libraryKey).ConfigureAwait(false);
                Deserialize(lease!);
            },
            AsVoid(fixture.LibraryHitAsync),
            rounds,
            blockCalls,
            drain: false);
        Console.WriteLine();
        Console.WriteLine("B = hand-written baseline, L = library. 'L thrpt x' = baseline time / library time (>= 1: library at least as fast).");
        Console.WriteLine("'miss' wall and CPU include the library's background write-backs (they run during the block and are awaited after it).");
        return 0;
    }

    private static async Task CompareBlockingAsync(string name, Func<ValueTask<UserContext?>> baseline, Func<ValueTask<UserContext?>> library, int rounds, int blockCalls)
    {
        var (wallA, wallB, cpuA, cpuB, libraryWins) = await Task.Factory.StartNew(
            () =>
            {
                var waiter = new BlockingWaiter();
                for (int i = 0; i < 3; i++)
                {
                    waiter.Block(baseline, blockCalls);
                    waiter.Block(library, blockCalls);
                }

                var wa = new List<double>();
                var wb = new List<double>();
                var ca = new List<double>();
                var cb = new List<double>();
                int wins = 0;
                for (int round = 0; round < rounds; round++)
                {
                    var a1 = waiter.Block(baseline, blockCalls);
                    var b1 = waiter.Block(library, blockCalls);
                    var b2 = waiter.Block(library, blockCalls);
                    var a2 = waiter.Block(baseline, blockCalls);
                    wa.AddRange([a1.Wall, a2.Wall]);
                    wb.AddRange([b1.Wall, b2.Wall]);
                    ca.AddRange([a1.Cpu, a2.Cpu]);
                    cb.AddRange([b1.Cpu, b2.Cpu]);
                    wins += b1.Wall + b2.Wall < a1.Wall + a2.Wall ? 1 : 0;
                }

                return (wa, wb, ca, cb, wins);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        Print(name, blockCalls, wallA, wallB, cpuA, cpuB, libraryWins, rounds, drain: false);
    }

    /// <summary>Blocks the calling thread on a ValueTask like BenchmarkDotNet does: one cached callback, Monitor wait/pulse.</summary>
    private sealed class BlockingWaiter
    {
        private readonly Action _callback;
        private readonly object _gate = new();
        private bool _completed;

        public BlockingWaiter() => _callback = OnCompleted;

        public (double Wall, double Cpu) Block(Func<ValueTask<UserContext?>> op, int calls)
        {
            var cpuBefore = Environment.CpuUsage.TotalTime;
            long started = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++)
            {
#pragma warning disable CA2012 // consumed exactly once, through its awaiter, like BenchmarkDotNet does
                var awaiter = op().ConfigureAwait(false).GetAwaiter();
#pragma warning restore CA2012
                if (!awaiter.IsCompleted)
                {
                    _completed = false;
                    awaiter.UnsafeOnCompleted(_callback);
                    lock (_gate)
                    {
                        while (!_completed)
                        {
                            Monitor.Wait(_gate);
                        }
                    }
                }

                _ = awaiter.GetResult();
            }

            long wall = Stopwatch.GetTimestamp() - started;
            var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
            return (wall * 1_000_000.0 / Stopwatch.Frequency / calls, cpu.TotalMicroseconds / calls);
        }

        private void OnCompleted()
        {
            lock (_gate)
            {
                _completed = true;
                Monitor.Pulse(_gate);
            }
        }
    }

    private static void Deserialize(Lease<byte> lease)
    {
        Envelope.Read(lease.Span, out _, out var json);
        _ = JsonSerializer.Deserialize(json, CacheJsonContext.Default.UserContext);
    }

    private static Task CompareAsync(
        string name,
        BenchmarkFixture fixture,
        Func<ValueTask<UserContext?>> baseline,
        Func<ValueTask<UserContext?>> library,
        int rounds,
        int blockCalls,
        bool drain) =>
        CompareAsync(name, fixture, AsVoid(baseline), AsVoid(library), rounds, blockCalls, drain);

    private static Func<ValueTask> AsVoid(Func<ValueTask<UserContext?>> op) => async () => { await op().ConfigureAwait(false); };

    private static async Task CompareAsync(
        string name,
        BenchmarkFixture fixture,
        Func<ValueTask> baseline,
        Func<ValueTask> library,
        int rounds,
        int blockCalls,
        bool drain)
    {
        // Warm-up: tier-1 JIT of both paths.
        for (int i = 0; i < 3; i++)
        {
            await BlockAsync(baseline, blockCalls, fixture, drain);
            await BlockAsync(library, blockCalls, fixture, drain);
        }

        var wallA = new List<double>(rounds * 2);
        var wallB = new List<double>(rounds * 2);
        var cpuA = new List<double>(rounds * 2);
        var cpuB = new List<double>(rounds * 2);
        int libraryWins = 0;
        for (int round = 0; round < rounds; round++)
        {
            // A B B A: neither side always runs first.
            var a1 = await BlockAsync(baseline, blockCalls, fixture, drain);
            var b1 = await BlockAsync(library, blockCalls, fixture, drain);
            var b2 = await BlockAsync(library, blockCalls, fixture, drain);
            var a2 = await BlockAsync(baseline, blockCalls, fixture, drain);
            wallA.AddRange([a1.Wall, a2.Wall]);
            wallB.AddRange([b1.Wall, b2.Wall]);
            cpuA.AddRange([a1.Cpu, a2.Cpu]);
            cpuB.AddRange([b1.Cpu, b2.Cpu]);
            libraryWins += b1.Wall + b2.Wall < a1.Wall + a2.Wall ? 1 : 0;
        }

        Print(name, blockCalls, wallA, wallB, cpuA, cpuB, libraryWins, rounds, drain);
    }

    private static void Print(string name, int blockCalls, List<double> wallA, List<double> wallB, List<double> cpuA, List<double> cpuB, int libraryWins, int rounds, bool drain)
    {
        double wa = Median(wallA), wb = Median(wallB), ca = Median(cpuA), cb = Median(cpuB);
        string cpu = drain ? $"{"-",11} {"-",11} {"-",8}" : $"{ca,11:F2} {cb,11:F2} {cb / ca,8:F3}";
        if (name.Length > 18)
        {
            Console.WriteLine(name);
            name = "";
        }

        Console.WriteLine($"{name,-18} {blockCalls,11} | {wa,12:F2} {wb,12:F2} {wb / wa,9:F3} {wa / wb,9:F3} {libraryWins,5}/{rounds,-3} | {cpu}");
    }

    /// <summary>One block: wall and process CPU microseconds per call; ends once the library's write-backs are done.</summary>
    private static async Task<(double Wall, double Cpu)> BlockAsync(Func<ValueTask> op, int calls, BenchmarkFixture fixture, bool drain)
    {
        var cpuBefore = Environment.CpuUsage.TotalTime;
        long wallTicks = 0;
        if (!drain)
        {
            long started = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++)
            {
                await op();
            }

            wallTicks = Stopwatch.GetTimestamp() - started;
        }
        else
        {
            for (int i = 0; i < calls; i++)
            {
                long started = Stopwatch.GetTimestamp();
                await op();
                wallTicks += Stopwatch.GetTimestamp() - started;
                while (fixture.WriteBacksInFlight > 0)
                {
                    Thread.SpinWait(20);
                }
            }
        }

        while (fixture.WriteBacksInFlight > 0)
        {
            Thread.SpinWait(20);
        }

        var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
        return (wallTicks * 1_000_000.0 / Stopwatch.Frequency / calls, cpu.TotalMicroseconds / calls);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
