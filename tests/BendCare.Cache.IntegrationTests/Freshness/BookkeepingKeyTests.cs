using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using StackExchange.Redis;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Freshness;

/// <summary>
/// Garbage in the keys the freshness scheme keeps for itself (the role epoch, the role member sets) is healed like an
/// unreadable entry: no exception reaches a caller, role edits still apply, and user contexts are cached again.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class BookkeepingKeyTests(SharedRedisFixture redis)
{
    [Theory]
    [InlineData("string")]
    [InlineData("list")]
    public async Task Garbage_in_the_epoch_key_is_healed_and_role_edits_and_caching_work_again(string garbage)
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        await WriteGarbageAsync(admin, prefix + "rbac_epoch", garbage);

        var v1 = new CountingLoader<UserContext?>(Models.UserContext("u1", "v1", "r1"));
        Same.Value(Models.UserContext("u1", "v1", "r1"), await host.Cache.GetUserContextAsync("u1", v1.Load));
        await host.Cache.InvalidateRolePermissionsAsync("r1");

        // Internal state read only after the user-visible steps: the role edit was applied, not parked for replay.
        Assert.Equal(0, host.Engine.RememberedInvalidations);
        Assert.True(long.TryParse((string?)await admin.StringGetAsync(prefix + "rbac_epoch"), out _));
        await AssertCachedAgainAsync(host, "u2", "r1");
    }

    [Theory]
    [InlineData("string")]
    [InlineData("list")]
    public async Task Garbage_in_a_role_member_set_is_healed_and_role_edits_and_caching_work_again(string garbage)
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        await WriteGarbageAsync(admin, prefix + "role_members:r1", garbage);

        string cached = await AssertCachedAgainAsync(host, "u1", "r1");
        await host.Cache.InvalidateRolePermissionsAsync("r1");
        Assert.Equal(0, host.Engine.RememberedInvalidations);

        // The healed set works: the role edit found the cached holder and its next read loads afresh.
        var v2 = new CountingLoader<UserContext?>(Models.UserContext(cached, "v2", "r1"));
        Same.Value(Models.UserContext(cached, "v2", "r1"), await host.Cache.GetUserContextAsync(cached, v2.Load));
        Assert.Equal(1, v2.Calls);
    }

    [Fact]
    public async Task A_role_edit_also_reaches_holders_registered_by_an_earlier_version_in_a_plain_set()
    {
        // An instance still on the earlier version registers holders with SADD under role_users:{role}.
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        await host.Cache.SetUserContextAsync(Models.UserContext("old-1", "v1", "r1"));
        await admin.KeyDeleteAsync(prefix + "role_members:r1");
        await admin.SetAddAsync(prefix + "role_users:r1", "old-1");

        await host.Cache.InvalidateRolePermissionsAsync("r1");

        var v2 = new CountingLoader<UserContext?>(Models.UserContext("old-1", "v2", "r1"));
        Same.Value(Models.UserContext("old-1", "v2", "r1"), await host.Cache.GetUserContextAsync("old-1", v2.Load));
        Assert.Equal(1, v2.Calls);
    }

    [Fact]
    public async Task A_missing_epoch_key_starts_at_a_random_value_so_epochs_never_repeat_after_a_loss()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();

        await host.Cache.InvalidateRolePermissionsAsync("r1");
        long first = (long)await admin.StringGetAsync(prefix + "rbac_epoch");
        await admin.KeyDeleteAsync(prefix + "rbac_epoch");
        await host.Cache.InvalidateRolePermissionsAsync("r1");
        long second = (long)await admin.StringGetAsync(prefix + "rbac_epoch");

        Assert.True(first > 1_000_000 && second > 1_000_000 && first != second, $"epochs {first}, {second}");
    }

    [Fact]
    public async Task Garbage_in_the_epoch_key_during_a_load_drops_its_write_back()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        var slowV1 = new GatedLoader<UserContext?>(Models.UserContext("u1", "v1", "r1"));

        var read = host.Cache.GetUserContextAsync("u1", slowV1.Load).AsTask();
        await slowV1.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await admin.StringSetAsync(prefix + "rbac_epoch", "not-a-number");
        slowV1.Release();
        await read;
        await host.WaitForWriteBacksAsync();

        Assert.False(await admin.KeyExistsAsync(prefix + "user_context:u1"));
    }

    private static async Task WriteGarbageAsync(IDatabase admin, string key, string garbage)
    {
        await admin.KeyDeleteAsync(key);
        if (garbage == "string")
        {
            await admin.StringSetAsync(key, "not-a-number");
        }
        else
        {
            await admin.ListRightPushAsync(key, ["a", "b"]);
        }
    }

    /// <summary>
    /// A miss is written back and the next read is a hit. A few tries, each under a user id of its own: a background heal
    /// may drop one write-back, and a try's second read may itself load and write back. Returns the id that was cached.
    /// </summary>
    private static async Task<string> AssertCachedAgainAsync(CacheHost host, string userId, string roleId)
    {
        for (int attempt = 0; attempt < 5; attempt++)
        {
            string id = attempt == 0 ? userId : $"{userId}-{attempt}";
            var loader = new CountingLoader<UserContext?>(Models.UserContext(id, "v1", roleId));
            await host.Cache.GetUserContextAsync(id, loader.Load);
            await host.WaitForWriteBacksAsync();
            var again = new CountingLoader<UserContext?>(Models.UserContext(id, "other", roleId));
            var cached = await host.Cache.GetUserContextAsync(id, again.Load);
            if (again.Calls == 0)
            {
                Same.Value(Models.UserContext(id, "v1", roleId), cached);
                return id;
            }
        }

        Assert.Fail($"{userId}'s context was never cached again after the bookkeeping key was healed.");
        return userId;
    }
}
