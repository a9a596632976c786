using System.Diagnostics;
using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;

namespace BendCare.Cache.LoadHarness;

/// <summary>
/// How long <c>InvalidateRolePermissionsAsync</c> makes its caller wait with the L1 off and on (the L1 adds a PUBLISH and
/// waits for every instance's acknowledgement), with 1 and 3 instances (each its own service provider in this process),
/// one sequential invalidator, the configurations interleaved in forward and reverse blocks.
/// </summary>
internal static class InvalidationWait
{
    private const int PerBlock = 50;

    public static async Task RunAsync(RedisServer server, HarnessOptions options)
    {
        var configs = new List<Config>();
        try
        {
            foreach (var (local, instances) in new[] { (false, 1), (true, 1), (false, 3), (true, 3) })
            {
                var config = new Config(local, instances);
                string prefix = $"inv-{(local ? "on" : "off")}{instances}:";
                for (int i = 0; i < instances; i++)
                {
                    config.Providers.Add(Subjects.NewLibrary(server, prefix, local ? LocalCacheTypes.RolePermissions : LocalCacheTypes.None));
                }

                configs.Add(config);
            }

            foreach (var config in configs)
            {
                await config.ReadyAsync();
            }

            string load = Report.LoadAverage();
            for (int round = 0; round < options.Rounds * 2; round++)
            {
                foreach (var config in configs)
                {
                    await config.BlockAsync(record: round > 0);
                }

                for (int i = configs.Count - 1; i >= 0; i--)
                {
                    await configs[i].BlockAsync(record: true);
                }
            }

            Console.WriteLine("### Invalidation wait: InvalidateRolePermissionsAsync, L1 (role permissions) off and on");
            Console.WriteLine();
            Console.WriteLine($"load average before {load}, after {Report.LoadAverage()}; one sequential invalidator on instance 1; the other instances hold the role in their L1");
            Console.WriteLine();
            Console.WriteLine("| instances | L1 | invalidations | mean µs | p50 µs | p99 µs | p99.9 µs | added p50 µs | added p99 µs |");
            Console.WriteLine("|--:|---|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var config in configs)
            {
                var off = configs.First(c => !c.Local && c.Instances == config.Instances).Latency;
                string added50 = config.Local ? (Histograms.PercentileMicros(config.Latency, 50) - Histograms.PercentileMicros(off, 50)).ToString("F0", CultureInfo.InvariantCulture) : "—";
                string added99 = config.Local ? (Histograms.PercentileMicros(config.Latency, 99) - Histograms.PercentileMicros(off, 99)).ToString("F0", CultureInfo.InvariantCulture) : "—";
                Console.WriteLine(
                    $"| {config.Instances} | {(config.Local ? "on" : "off")} | {config.Latency.TotalCount} | {Histograms.MeanMicros(config.Latency):F0} | {Histograms.PercentileMicros(config.Latency, 50):F0} | {Histograms.PercentileMicros(config.Latency, 99):F0} | {Histograms.PercentileMicros(config.Latency, 99.9):F0} | {added50} | {added99} |");
            }

            Console.WriteLine();
        }
        finally
        {
            foreach (var config in configs)
            {
                foreach (var provider in config.Providers)
                {
                    await provider.DisposeAsync();
                }
            }
        }
    }

    private sealed class Config(bool local, int instances)
    {
        private static readonly Func<CancellationToken, ValueTask<RolePermissions?>> Loader =
            static _ => new ValueTask<RolePermissions?>(new RolePermissions { RoleId = "r", Permissions = ["patients:read", "invoices:read"] });

        private int _next;

        public bool Local { get; } = local;

        public int Instances { get; } = instances;

        public List<ServiceProvider> Providers { get; } = [];

        public LongHistogram Latency { get; } = Histograms.Create();

        public async Task ReadyAsync()
        {
            var stopwatch = Stopwatch.StartNew();
            foreach (var provider in Providers)
            {
                var engine = ((RedisRbacCache)provider.GetRequiredService<IRbacCache>()).Engine;
                while ((!engine.Connection.IsUsable || (Local && engine.Bus?.Verification.IsVerified != true)) && stopwatch.Elapsed < TimeSpan.FromSeconds(20))
                {
                    await Task.Delay(20);
                }

                if (!engine.Connection.IsUsable || (Local && engine.Bus?.Verification.IsVerified != true))
                {
                    throw new InvalidOperationException("An instance did not become ready (connected, L1 verified) within 20 s.");
                }
            }
        }

        public async Task BlockAsync(bool record)
        {
            var invalidator = Providers[0].GetRequiredService<IRbacCache>();
            for (int i = 0; i < PerBlock; i++)
            {
                string roleId = "role-" + (_next++ % 10).ToString(CultureInfo.InvariantCulture);

                // Every instance holds the role (in its L1 when on), as a busy service would: the invalidation has work to do.
                foreach (var provider in Providers)
                {
                    _ = await provider.GetRequiredService<IRbacCache>().GetRolePermissionsAsync(roleId, Loader);
                }

                long t0 = Stopwatch.GetTimestamp();
                await invalidator.InvalidateRolePermissionsAsync(roleId);
                if (record)
                {
                    Subject<int>.Record(Latency, Stopwatch.GetTimestamp() - t0);
                }
            }
        }
    }
}
