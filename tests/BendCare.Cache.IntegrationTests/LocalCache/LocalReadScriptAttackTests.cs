using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using BendCare.Cache.Testing;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;
using static BendCare.Cache.IntegrationTests.LocalCache.LocalCacheTests;

namespace BendCare.Cache.IntegrationTests.LocalCache;

/// <summary>
/// Attacks on the read of a type with L1, which is a script (GET and PTTL inside) instead of a GET: what a server does
/// to scripts (flushes its script cache, restarts) and what a foreign value at the key does to a script must cost a
/// reader no more than they cost a plain GET. Both hold; no other test read an L1 type through a flushed script cache
/// or a foreign value. The class has a server of its own (its script cache is flushed).
/// </summary>
public sealed class LocalReadScriptAttackTests(LocalCacheServerFixture fixture, ITestOutputHelper output) : IClassFixture<LocalCacheServerFixture>
{
    private RedisServer Server => fixture.Server;

    /// <summary>
    /// A server's script cache is emptied by <c>SCRIPT FLUSH</c>, a restart, a failover to a replica that never ran the
    /// script, or a serverless node replacement. A plain GET never cared; the L1 read now depends on the script being
    /// known (the client sends EVALSHA once it loaded it), so the next read of an entry that is in Redis must still be
    /// a hit, not a failed read that sends the caller to its database and counts towards the breaker.
    /// </summary>
    [Fact]
    public async Task An_l1_read_right_after_the_server_flushed_its_scripts_is_still_a_hit()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var admin = await Server.ConnectAdminAsync();
        await using var writer = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions);
        await using var reader = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions);
        await writer.Cache.SetRolePermissionsAsync(Models.RolePermissions("r1", "v1"));
        await writer.Cache.SetRolePermissionsAsync(Models.RolePermissions("r2", "v1"));

        // The reader's client has run the read script (and learnt it is loaded).
        await UntilServedLocallyAsync(admin, () => reader.Cache.GetRolePermissionsAsync("r1", Unexpected<RolePermissions>));
        await admin.GetServers()[0].ExecuteAsync("SCRIPT", "FLUSH");

        // r2 is in Redis and not in the reader's L1: one read, as a request makes it.
        var loader = new CountingLoader<RolePermissions?>(Models.RolePermissions("r2", "from-database"));
        var value = await reader.Cache.GetRolePermissionsAsync("r2", loader.Load);
        output.WriteLine($"after SCRIPT FLUSH the read returned {value!.Permissions[0]}; loader calls: {loader.Calls}; logs: {string.Join(" | ", reader.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.Message))}");

        Assert.Equal(0, loader.Calls);
        Assert.EndsWith("v1", value.Permissions[0], StringComparison.Ordinal);

        // The read after the flush was an EVALSHA the server refused (NOSCRIPT) and the client sent again as EVAL: without
        // that refusal the test would prove nothing.
        var errors = (await admin.GetServers()[0].InfoAsync("errorstats")).SelectMany(static g => g);
        Assert.Contains(errors, static e => e.Key == "errorstat_NOSCRIPT");
    }

    /// <summary>
    /// A foreign value of another Redis type at an L1 type's key: a plain GET's WRONGTYPE is healed (the key deleted,
    /// warning 3002, the loader's value written back). The script passes the GET's error on with
    /// <c>redis.error_reply</c>; it must still be recognised as a data error and healed the same way.
    /// </summary>
    [Fact]
    public async Task A_foreign_list_at_an_l1_key_is_healed_as_a_plain_get_heals_it()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var admin = await Server.ConnectAdminAsync();
        string key = prefix + "role_perms:r1";
        await admin.GetDatabase().ListLeftPushAsync(key, "foreign");
        await using var host = await StartAsync(Server.Port, prefix, LocalCacheTypes.RolePermissions);

        var loader = new CountingLoader<RolePermissions?>(Models.RolePermissions("r1", "from-database"));
        var value = await host.Cache.GetRolePermissionsAsync("r1", loader.Load);
        await host.WaitForWriteBacksAsync();

        Assert.Equal(1, loader.Calls);
        Assert.EndsWith("from-database", value!.Permissions[0], StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == Log.WrongTypeEntryId);
        Assert.Equal(RedisType.String, await admin.GetDatabase().KeyTypeAsync(key));
    }
}
