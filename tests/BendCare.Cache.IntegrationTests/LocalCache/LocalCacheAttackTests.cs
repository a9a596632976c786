using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using BendCare.Cache.Testing;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;
using static BendCare.Cache.IntegrationTests.LocalCache.LocalCacheTests;

namespace BendCare.Cache.IntegrationTests.LocalCache;

/// <summary>
/// Attacks on the in-process cache's promise (docs/freshness.md, G6), each against a real server: after an
/// invalidation or a set returns, no instance serves the earlier value from its L1; what is owed while Redis is
/// unreachable stays bounded. Each test is a scenario the proof or the code does not cover; it fails while the gap is
/// open.
/// </summary>
public sealed class LocalCacheAttackTests(LocalCacheServerFixture fixture, ITestOutputHelper output) : IClassFixture<LocalCacheServerFixture>
{
    private RedisServer Server => fixture.Server;

    /// <summary>
    /// The proof's case 3 says an instance the server did not count at PUBLISH time has been unverified since its
    /// connection ended. It is unverified only since its CLIENT noticed the end: the server drops a subscriber (output
    /// buffer limit, CLIENT KILL, a node or proxy restart) and its close can take up to the verification window to
    /// reach the client (here a middlebox holds the FIN). The writer waits for nobody it was not told about and returns;
    /// the reader's window, opened by a heartbeat sent before the drop, is still open.
    /// </summary>
    [Fact]
    public async Task A_subscriber_the_server_dropped_without_it_noticing_must_not_serve_from_l1_after_an_invalidation_returned()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        string user = "l1reader" + Guid.NewGuid().ToString("N")[..8];
        await using var admin = await Server.ConnectAdminAsync();
        var server = admin.GetServers()[0];
        await server.ExecuteAsync("ACL", "SETUSER", user, "on", ">secret-" + user, "~*", "&*", "+@all");
        try
        {
            await using var proxy = new TcpFaultProxy(Server.Host, Server.Port) { HoldClosesWhileBlackholed = true };

            // A longer window than the default only keeps a busy machine from closing it before the read below; the gap
            // is the same with 500 ms, only shorter.
            static void Window(BendCareCacheOptions o) => o.LocalCache.VerificationWindow = TimeSpan.FromSeconds(2);
            await using var writer = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions, Window);
            await using var reader = await StartAsync(proxy.Port, prefix, LocalCacheTypes.RolePermissions, o =>
            {
                Window(o);
                o.Username = user;
                o.Password = "secret-" + user;
            });
            await writer.Cache.SetRolePermissionsAsync(Models.RolePermissions("r1", "v1"));
            await UntilServedLocallyAsync(admin, () => reader.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>));

            // The server drops the reader's connections; the reader is not told (yet).
            proxy.Blackhole();
            await server.ExecuteAsync("CLIENT", "KILL", "USER", user);

            var watch = Stopwatch.StartNew();
            await writer.Cache.InvalidateRolePermissionsAsync("r1");
            var returned = watch.Elapsed;

            var loader = new CountingLoader<RolePermissions?>(Models.RolePermissions("r1", "v2"));
            var value = await reader.Cache.GetRolePermissionsAsync("r1", loader.Load);
            output.WriteLine($"invalidation returned after {returned.TotalMilliseconds:F1} ms; the reader then returned {value!.Permissions[0]} (loader calls: {loader.Calls})");
            Assert.EndsWith("v2", value.Permissions[0], StringComparison.Ordinal);
        }
        finally
        {
            await server.ExecuteAsync("ACL", "DELUSER", user);
        }
    }

    /// <summary>
    /// An instance with L1 for other types than the reader (a configuration changing during a deploy) still broadcasts
    /// its writes of every type, so the reader's copy goes. (An instance with L1 off altogether publishes nothing: the
    /// documented limit of a rolling deploy that turns L1 on, docs/freshness.md G6.)
    /// </summary>
    [Theory]
    [InlineData(LocalCacheTypes.RolePermissions)]
    [InlineData(LocalCacheTypes.TokenBlacklist)]
    public async Task A_set_on_an_instance_without_l1_for_the_type_must_reach_the_l1_of_instances_with_it(LocalCacheTypes writerTypes)
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var admin = await Server.ConnectAdminAsync();
        await using var writer = await StartAsync(Server.Port, prefix, writerTypes);
        await using var reader = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions | LocalCacheTypes.UserBasic);
        await writer.Cache.SetUserBasicAsync(Models.UserBasic("u1", "v1"));
        await UntilServedLocallyAsync(admin, () => reader.Cache.GetUserBasicAsync("u1", Unexpected<UserBasicInfo>));

        await writer.Cache.SetUserBasicAsync(Models.UserBasic("u1", "v2"));

        var value = await reader.Cache.GetUserBasicAsync("u1", _ => ValueTask.FromResult<UserBasicInfo?>(Models.UserBasic("u1", "v2")));
        Assert.Equal("v2", value!.DisplayName);
    }

    /// <summary>
    /// G6: "a Set* or invalidation made while this instance cannot reach Redis reaches other instances' L1 when its
    /// message goes out, as its Redis write reaches Redis on replay". The message goes out at once, BEFORE the replay:
    /// here the server refuses the tombstone (maxmemory with noeviction, the configuration docs/freshness.md recommends)
    /// but takes the PUBLISH. The reader drops its copy, reads the old value again from Redis (still there) and installs
    /// it; the replay later tombstones the key and publishes nothing, so the reader serves the old value from L1 for the
    /// rest of its lifetime (the type's whole TTL from that install: 5 min here, 24 h for role permissions).
    /// </summary>
    [Fact]
    public async Task An_invalidation_replayed_after_redis_refused_it_must_reach_the_l1_that_read_the_old_value_again()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var admin = await Server.ConnectAdminAsync();
        var server = admin.GetServers()[0];
        var db = admin.GetDatabase();
        await using var writer = await StartAsync(Server.Port, prefix, LocalCacheTypes.UserBasic);
        await using var reader = await StartAsync(Server.Port, prefix, LocalCacheTypes.UserBasic);
        await writer.Cache.SetUserBasicAsync(Models.UserBasic("u1", "v1"));
        await UntilServedLocallyAsync(admin, () => reader.Cache.GetUserBasicAsync("u1", Unexpected<UserBasicInfo>));
        string key = prefix + "user_basic:u1";
        byte[] before = (byte[])(await db.StringGetAsync(key))!;

        var policy = (await server.ConfigGetAsync("maxmemory-policy"))[0].Value;
        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await server.ConfigSetAsync("maxmemory", "1");
        try
        {
            await writer.Cache.InvalidateUserBasicAsync("u1");

            // G5's documented window: until the replay lands another instance may read what Redis still holds. Here the
            // reader reads it from Redis once and then from its L1.
            await UntilServedLocallyAsync(admin, () => reader.Cache.GetUserBasicAsync("u1", Unexpected<UserBasicInfo>));
        }
        finally
        {
            await server.ConfigSetAsync("maxmemory", "0");
            await server.ConfigSetAsync("maxmemory-policy", policy);
        }

        // The replay lands (the server itself shows the tombstone) ...
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (((byte[]?)await db.StringGetAsync(key)) is { } now && now.AsSpan().SequenceEqual(before))
        {
            Assert.True(DateTime.UtcNow < deadline, "the remembered invalidation was never replayed");
            await Task.Delay(20);
        }

        // ... and its message goes out again: within one verification window every instance misses (the reader has
        // dropped its copy, or has stopped serving L1), and the old value never comes back. Before the fix the reader
        // served v1 from L1 for the rest of its lifetime.
        var landed = Stopwatch.StartNew();
        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1", "v2"));
        int stale = 0;
        string? value;
        while ((value = (await reader.Cache.GetUserBasicAsync("u1", loader.Load))!.DisplayName) == "v1")
        {
            stale++;
            Assert.True(landed.Elapsed < TimeSpan.FromSeconds(5), $"the reader still served v1 from L1 {landed.Elapsed.TotalSeconds:F1} s after the replay landed ({stale} reads)");
            await Task.Delay(5);
        }

        output.WriteLine($"after the replay landed the reader returned v1 {stale} times over {landed.Elapsed.TotalMilliseconds:F0} ms, then {value} (loader calls: {loader.Calls})");
        Assert.Equal("v2", value);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal("v2", (await reader.Cache.GetUserBasicAsync("u1", loader.Load))!.DisplayName);
        }
    }

    /// <summary>
    /// An L1 copy read from a Redis entry near the end of its life must end with it: every fallback bound of the design
    /// (a lost or not yet replayed invalidation is served at most until the entry's TTL ends) assumes no copy outlives
    /// the entry. Before the fix the copy lived the type's whole TTL from its install (here 5 min instead of 1.5 s).
    /// </summary>
    [Fact]
    public async Task An_l1_copy_must_not_outlive_the_redis_entry_it_was_read_from()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var admin = await Server.ConnectAdminAsync();
        var db = admin.GetDatabase();
        await using var writer = await StartAsync(Server.Port, prefix, LocalCacheTypes.UserBasic);
        await using var reader = await StartAsync(Server.Port, prefix, LocalCacheTypes.UserBasic);
        await writer.Cache.SetUserBasicAsync(Models.UserBasic("u1", "v1"));
        string key = prefix + "user_basic:u1";

        // The entry has 1.5 s left (as one written back long ago would) when the reader copies it into L1.
        Assert.True(await db.KeyExpireAsync(key, TimeSpan.FromMilliseconds(1500)));
        await UntilServedLocallyAsync(admin, () => reader.Cache.GetUserBasicAsync("u1", Unexpected<UserBasicInfo>));

        // Redis lets it expire (no invalidation, no message), and the copy is gone with it.
        var (value, loader) = await ReadOnceExpiredAsync(db, key, reader);
        Assert.Equal("v2", value.DisplayName);
        Assert.Equal(1, loader.Calls);
    }

    /// <summary>
    /// The copy's lifetime comes from <c>StringGetWithExpiryAsync</c>, which sends <c>PTTL</c> only when the client's
    /// command map allows it and it has a server selected for the key; otherwise it sends <c>TTL</c>, whose reply the
    /// server rounds to the NEAREST second. An application whose command map leaves out <c>PTTL</c> (a renamed or
    /// proxied command set) gets a copy that lives up to half a second past the Redis entry: here the entry has 1.6 s
    /// left, <c>TTL</c> says 2, and the copy is still served after Redis expired the entry.
    /// </summary>
    [Fact]
    public async Task An_l1_copy_must_not_outlive_the_redis_entry_when_the_client_reads_its_lifetime_in_whole_seconds()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var admin = await Server.ConnectAdminAsync();
        var db = admin.GetDatabase();
        await using var writer = await StartAsync(Server.Port, prefix, LocalCacheTypes.UserBasic);
        await using var reader = await StartAsync(Server.Port, prefix, LocalCacheTypes.UserBasic, o =>
            o.ConfigureConnection = c => c.CommandMap = CommandMap.Create(new HashSet<string> { "CONFIG", "PTTL" }, available: false));
        string key = prefix + "user_basic:u1";

        // The reader is verified and serving from L1; then a set replaces the value (dropping every copy) ...
        await writer.Cache.SetUserBasicAsync(Models.UserBasic("u1", "v0"));
        await UntilServedLocallyAsync(admin, () => reader.Cache.GetUserBasicAsync("u1", Unexpected<UserBasicInfo>));
        await writer.Cache.SetUserBasicAsync(Models.UserBasic("u1", "v1"));

        // ... the entry has 1.6 s left (as one written back long ago would) when the reader copies it into L1.
        Assert.True(await db.KeyExpireAsync(key, TimeSpan.FromMilliseconds(1600)));
        Assert.Equal("v1", (await reader.Cache.GetUserBasicAsync("u1", Unexpected<UserBasicInfo>))!.DisplayName);
        var calls = await CommandStats.CallsAsync(admin.GetServers()[0]);
        output.WriteLine($"server calls so far: ttl {calls.GetValueOrDefault("ttl")}, pttl {calls.GetValueOrDefault("pttl")}");

        // Redis lets it expire (no invalidation, no message), and the copy must be gone with it.
        var (value, _) = await ReadOnceExpiredAsync(db, key, reader);
        Assert.Equal("v2", value.DisplayName);
    }

    /// <summary>Waits until Redis has expired <paramref name="key"/> (u1's user basic info), then reads u1 once on <paramref name="reader"/> (its loader returns v2).</summary>
    private async Task<(UserBasicInfo Value, CountingLoader<UserBasicInfo?> Loader)> ReadOnceExpiredAsync(IDatabase db, string key, CacheHost reader)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await db.KeyExistsAsync(key))
        {
            Assert.True(DateTime.UtcNow < deadline, "the entry never expired");
            await Task.Delay(10);
        }

        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1", "v2"));
        var value = await reader.Cache.GetUserBasicAsync("u1", loader.Load);
        output.WriteLine($"after the Redis entry expired the reader returned {value!.DisplayName} (loader calls: {loader.Calls})");
        return (value, loader);
    }

    /// <summary>
    /// The messages owed while Redis is unreachable are said to collapse into one flush of every type past 10 000 ids.
    /// The collapse runs only on a heartbeat tick of a subscribed bus: an instance that has never reached Redis (it
    /// starts during the outage) queues every id of every invalidation, without bound.
    /// </summary>
    [Fact]
    public async Task L1_messages_owed_while_redis_has_been_unreachable_since_start_stay_bounded()
    {
        int closedPort = RedisServer.GetFreePort();
        await using var host = await CacheHost.StartAsync("127.0.0.1", closedPort, SharedRedisFixture.NewKeyPrefix(), o => o.LocalCache.Types = LocalCacheTypes.UserContext, waitForConnection: false);
        for (int round = 0; round < 3; round++)
        {
            await host.Cache.InvalidateUserContextsAsync(Enumerable.Range(0, 50_000).Select(i => $"u{round}-{i}"));
        }

        // Read after the user-visible calls (they all returned normally, as they must while Redis is down).
        int owed = host.Engine.Bus!.Unsent;
        output.WriteLine($"L1 targets owed after 150 000 invalidations with Redis unreachable since start: {owed}");
        Assert.InRange(owed, 0, 10_000 + 256);
    }
}
