using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text.Json;
using BendCare.Cache.CacheAside;
using BendCare.Cache.Connection;
using BendCare.Cache.Serialization;
using StackExchange.Redis;

namespace BendCare.Cache.Benchmarks;

/// <summary>
/// <c>--alloc</c>: where the paths allocate. Runs each step of the hit path, and the four whole paths, many times
/// sequentially and prints bytes per call (<see cref="GC.GetTotalAllocatedBytes(bool)"/>: every thread, so the
/// multiplexer's reader thread and the library's background write-backs count too), then samples the allocated types
/// of the four whole paths with the runtime's GC AllocationTick events (one sample per ~100 KB allocated).
/// </summary>
internal static class AllocationBreakdown
{
    private const int Warmup = 5_000;
    private const int Calls = 50_000;

    public static async Task<int> RunAsync()
    {
        await using var fixture = await BenchmarkFixture.CreateAsync();
        var engine = ((RedisRbacCache)fixture.Cache).Engine;
        var connection = engine.Connection;
        var db = fixture.Database;
        RedisKey libraryKey = "user_context:" + BenchmarkFixture.HitUserId;
        byte[] stored = (byte[])(await db.StringGetAsync(libraryKey))!;
        byte[] baselineJson = (byte[])(await db.StringGetAsync(fixture.BaselineHitKey))!;

        Console.WriteLine($"Redis {fixture.Server.Host}:{fixture.Server.Port} (owned: {fixture.Server.IsOwned}); stored entry {stored.Length} B (library, envelope) / {baselineJson.Length} B (baseline, plain JSON)");
        Console.WriteLine($"{Calls:N0} sequential calls per row, after {Warmup:N0} warm-up calls.");
        Console.WriteLine();
        Console.WriteLine($"{"Operation",-72} {"B/call",8} {"us/call",8}");

        var steps = new (string Name, Func<ValueTask> Op)[]
        {
            ("baseline: StringGetAsync (Task<RedisValue>, value copied to byte[])", async () => _ = await db.StringGetAsync(fixture.BaselineHitKey).ConfigureAwait(false)),
            ("library step: StringGetLeaseAsync + lease.Dispose", async () => (await db.StringGetLeaseAsync(libraryKey).ConfigureAwait(false))?.Dispose()),
            ("library step: RedisConnection.ExecuteAsync(StringGetLeaseAsync) + Dispose", async () =>
            {
                var r = await connection.ExecuteAsync(libraryKey, static (d, k) => d.StringGetLeaseAsync(k), libraryKey, "user_context").ConfigureAwait(false);
                r.Value?.Dispose();
            }),
            ("  the same GET awaited through Task.WaitAsync(150 ms, TimeProvider.System)", async () =>
            {
                using var lease = await db.StringGetLeaseAsync(libraryKey).WaitAsync(TimeSpan.FromMilliseconds(150), TimeProvider.System).ConfigureAwait(false);
            }),
            ("JSON deserialise only (same bytes, source-generated)", () =>
            {
                _ = JsonSerializer.Deserialize(baselineJson, BenchJsonContext.Default.UserContext);
                return ValueTask.CompletedTask;
            }),
            ("library step: Envelope.Read + deserialise (library context)", () =>
            {
                Envelope.Read(stored, out _, out var json);
                _ = JsonSerializer.Deserialize(json, CacheJsonContext.Default.UserContext);
                return ValueTask.CompletedTask;
            }),
            ("FULL baseline hit (GET + deserialise)", async () => _ = await fixture.BaselineHitAsync().ConfigureAwait(false)),
            ("FULL library hit (IRbacCache.GetUserContextAsync)", async () => _ = await fixture.LibraryHitAsync().ConfigureAwait(false)),
            ("FULL baseline miss (GET nil + loader + SET, awaited)", async () => _ = await fixture.BaselineMissAsync().ConfigureAwait(false)),
            ("FULL library miss (write-back in the background; counted)", async () => _ = await fixture.LibraryMissAsync().ConfigureAwait(false)),
        };

        foreach (var (name, op) in steps)
        {
            var (bytes, micros) = await MeasureAsync(op, fixture);
            Console.WriteLine($"{name,-72} {bytes,8:F0} {micros,8:F1}");
        }

        Console.WriteLine();
        Console.WriteLine("Sampled allocated types (GC AllocationTick, ~1 sample per 100 KB; share of samples):");
        foreach (var (name, op, calls) in new (string, Func<ValueTask>, int)[]
        {
            ("baseline hit", async () => _ = await fixture.BaselineHitAsync().ConfigureAwait(false), 200_000),
            ("library hit", async () => _ = await fixture.LibraryHitAsync().ConfigureAwait(false), 200_000),
            ("baseline miss", async () => _ = await fixture.BaselineMissAsync().ConfigureAwait(false), 100_000),
            ("library miss, write-backs included", async () => _ = await fixture.LibraryMissAsync().ConfigureAwait(false), 40_000),
        })
        {
            Dictionary<string, int> samples;
            try
            {
                samples = await SampleTypesAsync(op, calls, fixture);
            }
            catch (InvalidOperationException ex)
            {
                Console.WriteLine($"  {name}: {ex.Message} Last Redis error: {connection.LastError ?? "none"}; breaker {connection.BreakerState}.");
                throw;
            }

            int total = samples.Values.Sum();
            Console.WriteLine($"  {name} ({calls:N0} calls, {total} samples):");
            foreach (var pair in samples.OrderByDescending(static p => p.Value).Take(name.Contains("miss", StringComparison.Ordinal) ? 24 : 16))
            {
                Console.WriteLine($"    {100.0 * pair.Value / total,5:F1}%  {Shorten(pair.Key)}");
            }
        }

        return 0;
    }

    /// <summary>Drops namespaces from a runtime type name so the generic ones fit on a line.</summary>
    private static string Shorten(string typeName) =>
        System.Text.RegularExpressions.Regex.Replace(typeName, @"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_<])", "");

    private static async Task<(double Bytes, double Micros)> MeasureAsync(Func<ValueTask> op, BenchmarkFixture fixture)
    {
        for (int i = 0; i < Warmup; i++)
        {
            await op();
        }

        await fixture.WaitForWriteBacksAsync();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var stopwatch = Stopwatch.StartNew();
        for (int i = 0; i < Calls; i++)
        {
            await op();
        }

        stopwatch.Stop();
        await fixture.WaitForWriteBacksAsync();
        long after = GC.GetTotalAllocatedBytes(precise: true);
        return ((after - before) / (double)Calls, stopwatch.Elapsed.TotalMicroseconds / Calls);
    }

    private static async Task<Dictionary<string, int>> SampleTypesAsync(Func<ValueTask> op, int calls, BenchmarkFixture fixture)
    {
        using var listener = new AllocationListener();
        for (int i = 0; i < calls; i++)
        {
            await op();
        }

        await fixture.WaitForWriteBacksAsync();
        await Task.Delay(200);
        return new Dictionary<string, int>(listener.Counts);
    }

    private sealed class AllocationListener : EventListener
    {
        public ConcurrentDictionary<string, int> Counts { get; } = new(StringComparer.Ordinal);

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.PayloadNames is null)
            {
                return;
            }

            int index = eventData.PayloadNames.IndexOf("TypeName");
            string type = index >= 0 ? Convert.ToString(eventData.Payload![index], CultureInfo.InvariantCulture) ?? "?" : "?";
            Counts.AddOrUpdate(type, 1, static (_, n) => n + 1);
        }
    }
}
