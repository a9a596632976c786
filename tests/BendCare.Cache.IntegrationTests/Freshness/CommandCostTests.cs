using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Freshness;

/// <summary>
/// What freshness costs on the wire, counted by the server itself (<c>INFO commandstats</c>) on a server of its own:
/// a hit must stay exactly one GET, like a hand-written cache-aside; the figures for misses and invalidations are
/// printed for the documentation.
/// </summary>
public sealed class CommandCostTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Repetitions = 50;
    private RedisServer _server = null!;
    private IServer _admin = null!;
    private IConnectionMultiplexer _adminConnection = null!;

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync(new RedisServerOptions { RequireRestartable = true });
        _adminConnection = await _server.ConnectAdminAsync();
        _admin = _adminConnection.GetServer(_adminConnection.GetEndPoints()[0]);
    }

    public async Task DisposeAsync()
    {
        await _adminConnection.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Hit_is_exactly_one_get_and_misses_and_invalidations_cost_what_the_docs_say()
    {
        // Counting commands, not racing the clock: a generous timeout keeps a busy machine from turning a hit into a miss.
        await using var host = await CacheHost.StartAsync(_server.Host, _server.Port, "cost:", o => o.OperationTimeout = TimeSpan.FromSeconds(5));
        var basic = new CountingLoader<UserBasicInfo?>(call => Models.UserBasic("u" + call));
        var context = new CountingLoader<UserContext?>(call => Models.UserContext("u" + call, "v1", "reader"));

        var hit = await MeasureAsync(host, async i => await host.Cache.GetUserBasicAsync("hot", basic.Load), warm: async () =>
        {
            await host.Cache.GetUserBasicAsync("hot", basic.Load);
            await host.WaitForWriteBacksAsync();
        });
        var basicMiss = await MeasureAsync(host, async i => await host.Cache.GetUserBasicAsync("cold" + i, basic.Load));
        var contextMiss = await MeasureAsync(host, async i => await host.Cache.GetUserContextAsync("cold" + i, context.Load));
        var invalidation = await MeasureAsync(host, async i => await host.Cache.InvalidateUserBasicAsync("cold" + i));
        var roleInvalidation = await MeasureAsync(host, async i => await host.Cache.InvalidateRolePermissionsAsync("role-without-members-" + i));

        Assert.Equal(new Dictionary<string, double> { ["get"] = 1 }, hit.Commands);
        Assert.Equal(1, hit.Commands.Values.Sum());
        Assert.Equal(new Dictionary<string, double> { ["setex"] = 1 }, invalidation.Commands);

        output.WriteLine("per operation (INFO commandstats / INFO stats deltas, averaged over " + Repetitions + "):");
        foreach (var (name, cost) in new[] { ("hit", hit), ("user_basic miss", basicMiss), ("user_context miss, 1 role", contextMiss), ("invalidation", invalidation), ("role invalidation, 0 members", roleInvalidation) })
        {
            output.WriteLine($"  {name,-28} {cost}");
        }
    }

    [Fact]
    public async Task A_read_of_a_type_with_l1_that_misses_l1_is_one_script_call()
    {
        // What docs/freshness.md's cost table says: an L1 miss answered by Redis is one EVALSHA (its GET and PTTL run
        // inside, which the server counts too); the L1 channel's heartbeats are left out of the count.
        await using var host = await CacheHost.StartAsync(_server.Host, _server.Port, "costl1:", o =>
        {
            o.OperationTimeout = TimeSpan.FromSeconds(5);
            o.LocalCache.Types = LocalCacheTypes.UserBasic;
        });
        for (int i = 0; i < Repetitions; i++)
        {
            await host.Cache.SetUserBasicAsync(Models.UserBasic("set" + i));
        }

        var loader = new CountingLoader<UserBasicInfo?>(call => Models.UserBasic("unexpected" + call));
        var read = await MeasureAsync(host, async i => await host.Cache.GetUserBasicAsync("set" + i, loader.Load), warm: async () =>
        {
            // The first script call on a server may be an EVAL that loads it.
            await host.Cache.GetUserBasicAsync("warm", loader.Load);
        });

        var counted = read.Commands.Where(static c => c.Key is not ("publish" or "spublish")).ToDictionary(static c => c.Key, static c => c.Value);
        output.WriteLine($"L1 miss answered by Redis: {read}");
        Assert.Equal(new Dictionary<string, double> { ["evalsha"] = 1, ["get"] = 1, ["pttl"] = 1 }, counted);
        Assert.Equal(1, loader.Calls); // the warm-up read only: every measured read was a hit in Redis
    }

    private async Task<Cost> MeasureAsync(CacheHost host, Func<int, Task> operation, Func<Task>? warm = null)
    {
        if (warm is not null)
        {
            await warm();
        }

        await host.WaitForWriteBacksAsync();
        await _admin.ExecuteAsync("CONFIG", "RESETSTAT");
        for (int i = 0; i < Repetitions; i++)
        {
            await operation(i);
            await host.WaitForWriteBacksAsync();
        }

        var stats = await _admin.InfoAsync("stats");
        var commands = (await CommandStats.CallsAsync(_admin)).ToDictionary(c => c.Key, c => (double)c.Value / Repetitions);

        double Stat(string name) => double.Parse(stats.SelectMany(g => g).Single(p => p.Key == name).Value, CultureInfo.InvariantCulture) / Repetitions;
        return new Cost(commands, Stat("total_net_input_bytes"), Stat("total_net_output_bytes"));
    }

    private sealed record Cost(Dictionary<string, double> Commands, double BytesIn, double BytesOut)
    {
        public override string ToString() =>
            string.Join(", ", Commands.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value:0.##}")) + $"; ~{BytesIn:0} B to the server, ~{BytesOut:0} B back (incl. measurement overhead)";
    }
}
