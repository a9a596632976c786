using System.Diagnostics;
using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;

namespace BendCare.Cache.LoadHarness;

/// <summary>
/// How long <c>InvalidateRolePermissionsAsync</c> makes its caller wait with the L1 off and on (the L1 adds a PUBLISH and
/// waits for every instance's acknowledgement), with 1 and 3 instances (each its own service provider in this process),
/// one sequential invalidator, the configurations interleaved in forward and reverse blocks. Beside them, the same
/// acknowledgement round hand-written with StackExchange.Redis (PUBLISH, every instance's subscription publishes an
/// acknowledgement, the publisher waits for all of them): the floor of any scheme that waits for its subscribers,
/// measured in the same blocks, so the library's added wait can be told apart from the server's pub/sub latency.
/// </summary>
internal static class InvalidationWait
{
    private const int PerBlock = 50;

    public static async Task RunAsync(RedisServer server, HarnessOptions options)
    {
        var configs = new List<Config>();
        var raws = new List<RawAckRound>();
        try
        {
            raws.Add(await RawAckRound.CreateAsync(server, 1));
            raws.Add(await RawAckRound.CreateAsync(server, 3));

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

                foreach (var raw in raws)
                {
                    await raw.BlockAsync(record: round > 0);
                }

                for (int i = raws.Count - 1; i >= 0; i--)
                {
                    await raws[i].BlockAsync(record: true);
                }

                for (int i = configs.Count - 1; i >= 0; i--)
                {
                    await configs[i].BlockAsync(record: true);
                }
            }

            Console.WriteLine("### Invalidation wait: InvalidateRolePermissionsAsync, L1 (role permissions) off and on");
            Console.WriteLine();
            Console.WriteLine($"load average before {load}, after {Report.LoadAverage()}; one sequential invalidator on instance 1; every instance holds the role (in its L1 when on); \"added\" for the library is on minus off per percentile; invalidations begun with write-backs still in flight: {configs.Sum(c => c.Undrained)}");
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

            foreach (var raw in raws)
            {
                // The whole round is wait that an acknowledged invalidation adds: its figures are its "added" ones.
                Console.WriteLine(
                    $"| {raw.Instances} | hand-written PUBLISH + acks | {raw.Latency.TotalCount} | {Histograms.MeanMicros(raw.Latency):F0} | {Histograms.PercentileMicros(raw.Latency, 50):F0} | {Histograms.PercentileMicros(raw.Latency, 99):F0} | {Histograms.PercentileMicros(raw.Latency, 99.9):F0} | {Histograms.PercentileMicros(raw.Latency, 50):F0} | {Histograms.PercentileMicros(raw.Latency, 99):F0} |");
            }

            Console.WriteLine();
        }
        finally
        {
            foreach (var raw in raws)
            {
                await raw.DisposeAsync();
            }

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

        /// <summary>Invalidations timed while a warm-up read's write-back was still in flight after 1 s (reported).</summary>
        public int Undrained { get; private set; }

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

                // Those reads missed (the last invalidation left a tombstone) and write back in the background: let them
                // land first, so each configuration's invalidation is timed alone, not against its own write-backs.
                var drain = Stopwatch.StartNew();
                while (Providers.Any(p => ((RedisRbacCache)p.GetRequiredService<IRbacCache>()).Engine.WriteBacksInFlight != 0))
                {
                    if (drain.ElapsedMilliseconds > 1000)
                    {
                        Undrained++;
                        break;
                    }

                    await Task.Delay(1);
                }

                // An L1 keeps only what it read from Redis: read once more, now a Redis hit, so the L1s hold the role.
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

    /// <summary>
    /// The acknowledgement round by hand: one multiplexer per instance, each subscribed to a bus channel and answering
    /// every message with a fire-and-forget PUBLISH on the publisher's acknowledgement channel (as the library's
    /// subscribers do, through the client's message queue); the publisher awaits its PUBLISH and every acknowledgement.
    /// </summary>
    private sealed class RawAckRound : IAsyncDisposable
    {
        private readonly List<StackExchange.Redis.ConnectionMultiplexer> _instances = [];
        private readonly StackExchange.Redis.RedisChannel _bus;
        private readonly StackExchange.Redis.RedisChannel _ack;
        private TaskCompletionSource? _done;
        private long _number;
        private int _missing;

        private RawAckRound(int instances)
        {
            Instances = instances;
            _bus = StackExchange.Redis.RedisChannel.Literal($"raw-bus-{instances}");
            _ack = StackExchange.Redis.RedisChannel.Literal($"raw-ack-{instances}");
        }

        public int Instances { get; }

        public LongHistogram Latency { get; } = Histograms.Create();

        public static async Task<RawAckRound> CreateAsync(RedisServer server, int instances)
        {
            var round = new RawAckRound(instances);
            for (int i = 0; i < instances; i++)
            {
                var multiplexer = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
                round._instances.Add(multiplexer);
                var subscriber = multiplexer.GetSubscriber();
                var queue = await subscriber.SubscribeAsync(round._bus);
                queue.OnMessage(m => subscriber.Publish(round._ack, m.Message, StackExchange.Redis.CommandFlags.FireAndForget));
            }

            var acks = await round._instances[0].GetSubscriber().SubscribeAsync(round._ack);
            acks.OnMessage(round.OnAck);
            return round;
        }

        public async Task BlockAsync(bool record)
        {
            var publisher = _instances[0].GetSubscriber();
            for (int i = 0; i < PerBlock; i++)
            {
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _missing, Instances);
                Volatile.Write(ref _done, done);
                long number = Interlocked.Increment(ref _number);
                long t0 = Stopwatch.GetTimestamp();
                long receivers = await publisher.PublishAsync(_bus, number);
                if (receivers != Instances)
                {
                    throw new InvalidOperationException($"{receivers} subscribers received the message, {Instances} expected.");
                }

                await done.Task.WaitAsync(TimeSpan.FromSeconds(5));
                if (record)
                {
                    Subject<int>.Record(Latency, Stopwatch.GetTimestamp() - t0);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var multiplexer in _instances)
            {
                await multiplexer.DisposeAsync();
            }
        }

        private void OnAck(StackExchange.Redis.ChannelMessage message)
        {
            if ((long)message.Message == Volatile.Read(ref _number) && Interlocked.Decrement(ref _missing) == 0)
            {
                Volatile.Read(ref _done)?.TrySetResult();
            }
        }
    }
}
