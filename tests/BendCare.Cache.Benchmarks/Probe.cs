using System.Diagnostics;
using StackExchange.Redis;

namespace BendCare.Cache.Benchmarks;

internal static class Probe
{
    public static async Task<int> RunAsync()
    {
        await using var fixture = await BenchmarkFixture.CreateAsync();
        var connection = ((RedisRbacCache)fixture.Cache).Engine.Connection;
        var db = fixture.Database;
        long n = 0;
        var ops = new (string, Func<ValueTask>)[]
        {
            ("raw GET missing (StringGetAsync)", async () => await db.StringGetAsync("nope:" + n++)),
            ("raw GET lease missing", async () => (await db.StringGetLeaseAsync("nope:" + n++))?.Dispose()),
            ("conn.Execute GET lease missing", async () => (await connection.ExecuteAsync(static (d, k) => d.StringGetLeaseAsync(k), (RedisKey)("nope:" + n++), "x")).Value?.Dispose()),
            ("conn.Execute GET epoch", async () => await connection.ExecuteAsync(static (d, k) => d.StringGetAsync(k), (RedisKey)"rbac_epoch", "x")),
            ("raw SET with ttl", async () => await db.StringSetAsync("nope:" + n++, "v", TimeSpan.FromMinutes(1))),
            ("baseline miss", async () => await fixture.BaselineMissAsync()),
            ("library miss (drained after, untimed)", async () => await fixture.LibraryMissAsync()),
            ("library miss (drained after, untimed) again", async () => await fixture.LibraryMissAsync()),
            ("baseline miss again", async () => await fixture.BaselineMissAsync()),
        };
        foreach (var (name, op) in ops)
        {
            for (int i = 0; i < 500; i++) { await op(); while (fixture.PendingWriteBacks > 0) Thread.SpinWait(10); }
            long ticks = 0;
            const int calls = 3000;
            for (int i = 0; i < calls; i++)
            {
                long t = Stopwatch.GetTimestamp();
                await op();
                ticks += Stopwatch.GetTimestamp() - t;
                while (fixture.PendingWriteBacks > 0) Thread.SpinWait(10);
            }
            Console.WriteLine($"{name,-50} {ticks * 1e6 / Stopwatch.Frequency / calls,8:F1} us");
        }
        return 0;
    }
}
