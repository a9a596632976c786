using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using BendCare.Cache.Testing;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.LocalCache;

/// <summary>A server of its own, so the GET calls it counts are this class's reads alone.</summary>
public sealed class LocalCacheServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public RedisServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _server = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// The opt-in in-process cache (L1), against a real server and several instances: it answers without asking Redis, and
/// after an invalidation, role edit, set or blacklisting returns, no instance serves the earlier value from it — also
/// when an instance's subscription is blackholed or lost. Whether a read asked Redis is told by the server itself
/// (<c>INFO commandstats</c> GET calls).
/// </summary>
public sealed class LocalCacheTests(LocalCacheServerFixture fixture, ITestOutputHelper output) : IClassFixture<LocalCacheServerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private RedisServer Server => fixture.Server;

    [Fact]
    public async Task Reads_are_answered_in_process_without_asking_redis_once_the_instance_is_verified()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions);
        await host.Cache.SetRolePermissionsAsync(Models.RolePermissions("r1", "v1"));
        await using var admin = await Server.ConnectAdminAsync();

        await UntilServedLocallyAsync(admin, () => host.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>));

        long before = await GetCallsAsync(admin);
        for (int i = 0; i < 1000; i++)
        {
            var value = await host.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>);
            Assert.Equal("perm:v1", value!.Permissions[0]);
        }

        Assert.Equal(before, await GetCallsAsync(admin));
    }

    [Fact]
    public async Task Every_instance_drops_the_value_before_an_invalidation_a_set_or_a_role_edit_returns()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        var types = LocalCacheTypes.RolePermissions | LocalCacheTypes.UserContext | LocalCacheTypes.UserBasic;
        await using var a = await StartAsync(Server.Port, prefix, types);
        await using var b = await StartAsync(Server.Port, prefix, types);
        await using var c = await StartAsync(Server.Port, prefix, types);
        CacheHost[] hosts = [a, b, c];
        await using var admin = await Server.ConnectAdminAsync();

        for (int round = 0; round < 10; round++)
        {
            string version = "v" + round;
            await a.Cache.SetRolePermissionsAsync(Models.RolePermissions("r1", version));
            await a.Cache.SetUserBasicAsync(Models.UserBasic("u1", version));
            await a.Cache.SetUserContextAsync(Models.UserContext("u2", version, "r2"));
            foreach (var host in hosts)
            {
                await UntilServedLocallyAsync(admin, () => host.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>));
                await UntilServedLocallyAsync(admin, () => host.Cache.GetUserBasicAsync("u1", Unexpected<UserBasicInfo>));
                await UntilServedLocallyAsync(admin, () => host.Cache.GetUserContextAsync("u2", Unexpected<UserContext>));
            }

            // Each kind of write from a different instance; then every instance at once, no pause.
            string next = "w" + round;
            await b.Cache.SetRolePermissionsAsync(Models.RolePermissions("r1", next));
            await c.Cache.InvalidateUserBasicAsync("u1");
            await a.Cache.InvalidateRolePermissionsAsync("r2"); // u2 holds r2: Redis tombstones it, every L1 flushes user contexts
            foreach (var host in hosts)
            {
                var role = await host.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>);
                Assert.EndsWith(next, role!.Permissions[0], StringComparison.Ordinal);
                var user = await host.Cache.GetUserBasicAsync("u1", _ => ValueTask.FromResult<UserBasicInfo?>(Models.UserBasic("u1", next)));
                Assert.Equal(next, user!.DisplayName);
                var context = await host.Cache.GetUserContextAsync("u2", _ => ValueTask.FromResult<UserContext?>(Models.UserContext("u2", next, "r2")));
                Assert.EndsWith(next, context!.Permissions[0], StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task A_blackholed_subscriber_makes_the_invalidation_wait_and_then_serves_nothing_from_its_l1()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var proxy = new TcpFaultProxy(Server.Host, Server.Port);
        proxy.Start();
        await using var a = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions);
        await using var silent = await StartAsync(proxy.Port, prefix, LocalCacheTypes.RolePermissions);
        await using var admin = await Server.ConnectAdminAsync();
        await a.Cache.SetRolePermissionsAsync(Models.RolePermissions("r1", "v1"));
        await UntilServedLocallyAsync(admin, () => a.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>));
        await UntilServedLocallyAsync(admin, () => silent.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>));

        proxy.Blackhole();
        var watch = Stopwatch.StartNew();
        await a.Cache.InvalidateRolePermissionsAsync("r1");
        output.WriteLine($"invalidation with one silent subscriber returned after {watch.Elapsed.TotalMilliseconds:F0} ms");

        // The silent instance's window has closed: its L1 is not used, Redis does not answer, the loader does.
        var loaded = new CountingLoader<RolePermissions?>(Models.RolePermissions("r1", "v2"));
        var value = await silent.Cache.GetRolePermissionsAsync("r1", loaded.Load);
        Assert.EndsWith("v2", value!.Permissions[0], StringComparison.Ordinal);
        Assert.Equal(1, loaded.Calls);
        Assert.False(silent.Engine.Bus!.Verification.IsVerified); // internal, read after the user-visible step
    }

    [Fact]
    public async Task Losing_the_subscription_empties_l1_until_it_is_verified_again()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions);
        await using var admin = await Server.ConnectAdminAsync();
        for (int i = 0; i < 20; i++)
        {
            await host.Cache.SetRolePermissionsAsync(Models.RolePermissions("r" + i, "v1"));
        }

        for (int i = 0; i < 20; i++)
        {
            string role = "r" + i;
            await UntilServedLocallyAsync(admin, () => host.Cache.GetRolePermissionsAsync(role, Unexpected<RolePermissions>));
        }

        await admin.GetServer(Server.Host, Server.Port).ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");

        // Within the verification window (the client notices the closed socket sooner, but not synchronously with the
        // kill's reply) reads stop being answered from L1: they ask Redis, or the loader while reconnecting.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        bool askedElsewhere = false;
        while (!askedElsewhere && DateTime.UtcNow < deadline)
        {
            long before = await GetCallsAsync(admin);
            var loaded = new CountingLoader<RolePermissions?>(Models.RolePermissions("r0", "v1"));
            await host.Cache.GetRolePermissionsAsync("r0", loaded.Load);
            askedElsewhere = await GetCallsAsync(admin) > before || loaded.Calls == 1;
        }

        Assert.True(askedElsewhere, "reads were still answered from L1 long after the subscription was lost");

        // Emptied (internal, read after the user-visible step), then serving again once its heartbeat comes back.
        var store = host.Engine.Bus!;
        await UntilAsync(() => HostStoreCount(host) <= 1, "L1 was not emptied");
        await UntilServedLocallyAsync(admin, () => host.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>));
        Assert.True(store.Verification.IsVerified);
    }

    [Fact]
    public async Task A_blacklisted_answer_stays_in_l1_while_unverified_and_a_not_blacklisted_one_does_not()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var proxy = new TcpFaultProxy(Server.Host, Server.Port);
        proxy.Start();
        await using var host = await StartAsync(proxy.Port, prefix, LocalCacheTypes.TokenBlacklist);
        await using var admin = await Server.ConnectAdminAsync();
        await host.Cache.BlacklistTokenAsync("t-revoked", DateTimeOffset.UtcNow.AddMinutes(30));
        await UntilServedLocallyAsync(admin, () => host.Cache.IsTokenBlacklistedAsync("t-revoked", Unexpected<bool>));
        await UntilServedLocallyAsync(admin, () => host.Cache.IsTokenBlacklistedAsync("t-fine", static _ => ValueTask.FromResult(false)));

        proxy.Blackhole();
        await UntilAsync(() => !host.Engine.Bus!.Verification.IsVerified, "the blackholed instance stayed verified");

        var revokedLoader = new CountingLoader<bool>(false);
        Assert.True(await host.Cache.IsTokenBlacklistedAsync("t-revoked", revokedLoader.Load));
        Assert.Equal(0, revokedLoader.Calls);

        // "Not blacklisted" may have become untrue: not from L1 now, so Redis (blackholed) and then the loader.
        var fineLoader = new CountingLoader<bool>(true);
        Assert.True(await host.Cache.IsTokenBlacklistedAsync("t-fine", fineLoader.Load));
        Assert.Equal(1, fineLoader.Calls);
    }

    [Fact]
    public async Task A_blacklisting_reaches_every_instance_that_cached_not_blacklisted()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var a = await StartAsync(Server.Port, prefix, LocalCacheTypes.TokenBlacklist);
        await using var b = await StartAsync(Server.Port, prefix, LocalCacheTypes.TokenBlacklist);
        await using var admin = await Server.ConnectAdminAsync();
        await UntilServedLocallyAsync(admin, () => b.Cache.IsTokenBlacklistedAsync("t1", static _ => ValueTask.FromResult(false)));

        await a.Cache.BlacklistTokenAsync("t1", DateTimeOffset.UtcNow.AddMinutes(30));

        Assert.True(await b.Cache.IsTokenBlacklistedAsync("t1", static _ => ValueTask.FromResult(false)));
    }

    [Fact]
    public async Task Values_handed_out_from_l1_cannot_be_changed_by_one_caller_under_another()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions | LocalCacheTypes.UserContext | LocalCacheTypes.JwtPayload);
        await using var admin = await Server.ConnectAdminAsync();
        await host.Cache.SetRolePermissionsAsync(Models.RolePermissions("r1", "v1"));
        await host.Cache.SetUserContextAsync(Models.UserContext("u1", "v1", "r1"));
        await host.Cache.SetJwtPayloadAsync(Models.JwtPayload("t1", "v1", TimeSpan.FromMinutes(10)));
        await UntilServedLocallyAsync(admin, () => host.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>));
        await UntilServedLocallyAsync(admin, () => host.Cache.GetUserContextAsync("u1", Unexpected<UserContext>));
        await UntilServedLocallyAsync(admin, () => host.Cache.GetJwtPayloadAsync("t1", Unexpected<JwtPayload>));

        var role = await host.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>);
        var context = await host.Cache.GetUserContextAsync("u1", Unexpected<UserContext>);
        var payload = await host.Cache.GetJwtPayloadAsync("t1", Unexpected<JwtPayload>);
        Assert.Throws<NotSupportedException>(() => ((IList<string>)role!.Permissions).Add("admin:write"));
        Assert.Throws<NotSupportedException>(() => ((IList<string>)context!.RoleIds)[0] = "admin");
        Assert.Throws<NotSupportedException>(() => ((IList<string>)context!.Permissions).Clear());
        Assert.Throws<NotSupportedException>(() => ((IDictionary<string, string>)payload!.Claims)["role"] = "admin");
        Assert.IsNotType<List<string>>(role!.Permissions);

        var again = await host.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>);
        Assert.Equal(role.Permissions, again!.Permissions);
    }

    [Fact]
    public async Task L1_stays_within_its_entry_bound()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions, o => o.LocalCache.MaxEntriesPerType = 100);
        for (int i = 0; i < 1000; i++)
        {
            await host.Cache.SetRolePermissionsAsync(Models.RolePermissions("r" + i, "v1"));
        }

        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = 0; i < 1000; i++)
            {
                var value = await host.Cache.GetRolePermissionsAsync("r" + i, Unexpected<RolePermissions>);
                Assert.Equal("r" + i, value!.RoleId);
            }
        }

        // A busy machine may lapse verification during the passes (nothing is installed then): make sure L1 answers now.
        await using var admin = await Server.ConnectAdminAsync();
        await UntilServedLocallyAsync(admin, () => host.Cache.GetRolePermissionsAsync("r999", Unexpected<RolePermissions>));
        int held = HostStoreCount(host); // internal, read after the user-visible reads
        output.WriteLine($"entries held: {held}");
        Assert.InRange(held, 1, 100);
    }

    [Fact]
    public async Task A_bound_jwt_payload_in_l1_is_served_only_with_its_own_raw_token()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await StartAsync(Server.Port, prefix, LocalCacheTypes.JwtPayload);
        await using var admin = await Server.ConnectAdminAsync();
        await host.Cache.SetJwtPayloadAsync(Models.JwtPayload("t1", "v1", TimeSpan.FromMinutes(10)), "raw-token-1");
        await UntilServedLocallyAsync(admin, () => host.Cache.GetJwtPayloadAsync("t1", "raw-token-1", Unexpected<JwtPayload>));

        var other = new CountingLoader<JwtPayload?>(Models.JwtPayload("t1", "other", TimeSpan.FromMinutes(10)));
        var value = await host.Cache.GetJwtPayloadAsync("t1", "raw-token-2", other.Load);
        Assert.Equal(1, other.Calls);
        Assert.Equal("user-other", value!.Subject);
    }

    internal static async Task<CacheHost> StartAsync(int port, string prefix, LocalCacheTypes types, Action<BendCareCacheOptions>? configure = null) =>
        await CacheHost.StartAsync("127.0.0.1", port, prefix, o =>
        {
            o.LocalCache.Types = types;
            configure?.Invoke(o);
        });

    private static int HostStoreCount(CacheHost host) => host.Engine.LocalStores.Sum(static s => s.Count);

    internal static ValueTask<T?> Unexpected<T>(CancellationToken cancellationToken) =>
        throw new InvalidOperationException("The loader was called: the value should have come from the cache.");

    private static async Task<long> GetCallsAsync(IConnectionMultiplexer admin)
    {
        var server = admin.GetServers()[0];
        return (await CommandStats.CallsAsync(server)).GetValueOrDefault("get");
    }

    /// <summary>
    /// Reads until a read leaves the server's GET count unchanged: the instance's first reads go to Redis (its L1 starts
    /// unverified and fills from Redis), the user-visible sign that L1 now answers.
    /// </summary>
    internal static Task UntilServedLocallyAsync<T>(IConnectionMultiplexer admin, Func<ValueTask<T>> read) =>
        UntilServedLocallyAsync(() => GetCallsAsync(admin), read);

    /// <summary>As above, with the GET calls counted by <paramref name="getCalls"/> (summed over a cluster's primaries).</summary>
    internal static async Task UntilServedLocallyAsync<T>(Func<Task<long>> getCalls, Func<ValueTask<T>> read)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            long before = await getCalls();
            await read();
            if (await getCalls() == before)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("L1 never answered.");
            }

            await Task.Delay(10);
        }
    }

    private static async Task UntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(10);
        }
    }
}
