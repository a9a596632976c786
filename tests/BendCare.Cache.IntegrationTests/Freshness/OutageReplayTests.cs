using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Freshness;

/// <summary>Invalidations issued while Redis is unreachable are kept and replayed before the instance reads Redis again.</summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class OutageReplayTests(SharedRedisFixture redis)
{
    [Fact]
    public async Task Invalidation_and_blacklisting_during_an_outage_are_replayed_before_the_instance_reads_redis_again()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, prefix);
        await using var other = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");
        await host.Cache.GetUserBasicAsync("u1", new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1", "v1")).Load);
        await host.Cache.GetUserContextAsync("u2", new CountingLoader<UserContext?>(Models.UserContext("u2", "v1", "editor")).Load);
        await host.Cache.IsTokenBlacklistedAsync(tokenId, new CountingLoader<bool>(false).Load);
        await host.WaitForWriteBacksAsync();

        proxy.Stop();
        await host.Cache.InvalidateUserBasicAsync("u1");
        await host.Cache.InvalidateRolePermissionsAsync("editor");
        await host.Cache.BlacklistTokenAsync(tokenId, null);
        Assert.Equal(5, host.Engine.RememberedInvalidations); // user_basic, role_perms, the role group, token_bl, jwt_payload
        proxy.Start();

        // Straight away, before any replay could have run: this instance must not read the stale entries.
        var u1 = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1", "v2"));
        Same.Value(Models.UserBasic("u1", "v2"), await host.Cache.GetUserBasicAsync("u1", u1.Load));
        Assert.Equal(1, u1.Calls);

        await host.WaitUntilUsableAsync(TimeSpan.FromSeconds(20));

        // After the replay every instance sees the invalidations.
        foreach (var instance in new[] { host, other })
        {
            var basic = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1", "v3"));
            var context = new CountingLoader<UserContext?>(Models.UserContext("u2", "v3", "editor"));
            Same.Value(Models.UserBasic("u1", "v3"), await instance.Cache.GetUserBasicAsync("u1", basic.Load));
            Same.Value(Models.UserContext("u2", "v3", "editor"), await instance.Cache.GetUserContextAsync("u2", context.Load));
            Assert.True(await instance.Cache.IsTokenBlacklistedAsync(tokenId, new CountingLoader<bool>(false).Load));
            await instance.Cache.InvalidateUserBasicAsync("u1");
            await instance.Cache.InvalidateUserContextAsync("u2");
        }
    }
}
