using System.Diagnostics;
using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Freshness;

/// <summary>
/// A role's member set holds about the users whose cached context may still exist: former holders expire and are
/// pruned, so a role edit costs its current holders, not everyone who ever held the role. Measured on a server of its
/// own with <c>INFO commandstats</c>.
/// </summary>
public sealed class RoleMembershipTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int FormerHolders = 100_000;
    private const int CurrentHolders = 1_000;
    private RedisServer _server = null!;
    private IConnectionMultiplexer _adminConnection = null!;

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync();
        _adminConnection = await _server.ConnectAdminAsync();
    }

    public async Task DisposeAsync()
    {
        await _adminConnection.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_role_edit_with_100000_former_and_1000_current_holders_tombstones_only_the_current_ones()
    {
        const string prefix = "members:";
        const string setKey = prefix + "role_members:big";
        var admin = _adminConnection.GetDatabase();
        var server = _adminConnection.GetServer(_adminConnection.GetEndPoints()[0]);
        await using var host = await CacheHost.StartAsync(_server.Host, _server.Port, prefix, o => o.OperationTimeout = TimeSpan.FromSeconds(5));

        // Former holders: registered an hour ago, so whatever they cached has expired long since.
        double past = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        for (int chunk = 0; chunk < FormerHolders; chunk += 10_000)
        {
            var entries = Enumerable.Range(chunk, 10_000).Select(i => new SortedSetEntry("former-" + i, past)).ToArray();
            await admin.SortedSetAddAsync(setKey, entries);
        }

        await admin.KeyExpireAsync(setKey, TimeSpan.FromHours(1));
        await Parallel.ForEachAsync(Enumerable.Range(0, CurrentHolders), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            await host.Cache.GetUserContextAsync("current-" + i, ct => ValueTask.FromResult<UserContext?>(Models.UserContext("current-" + i, "v1", "big")), CancellationToken.None));
        await host.WaitForWriteBacksAsync();

        // Each registration pruned a few expired members on its way.
        long members = await admin.SortedSetLengthAsync(setKey);
        Assert.InRange(members, CurrentHolders, FormerHolders + CurrentHolders - 50_000);

        await server.ExecuteAsync("CONFIG", "RESETSTAT");
        long started = Stopwatch.GetTimestamp();
        await host.Cache.InvalidateRolePermissionsAsync("big");
        var elapsed = Stopwatch.GetElapsedTime(started);
        var commands = await CommandStats.CallsAsync(server);
        var stats = (await server.InfoAsync("stats")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);

        Assert.Equal(CurrentHolders + 1, commands.GetValueOrDefault("setex"));
        output.WriteLine(
            $"role edit, {FormerHolders} former + {CurrentHolders} current holders ({members} members left after pruning): " +
            $"{string.Join(", ", commands.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"))}; " +
            $"~{stats["total_net_input_bytes"]} B to the server, ~{stats["total_net_output_bytes"]} B back; {elapsed.TotalMilliseconds:F0} ms");

        // Every current holder's next read loads afresh.
        for (int i = 0; i < CurrentHolders; i += 97)
        {
            var fresh = new CountingLoader<UserContext?>(Models.UserContext("current-" + i, "v2", "big"));
            Same.Value(Models.UserContext("current-" + i, "v2", "big"), await host.Cache.GetUserContextAsync("current-" + i, fresh.Load));
            Assert.Equal(1, fresh.Calls);
        }
    }
}
