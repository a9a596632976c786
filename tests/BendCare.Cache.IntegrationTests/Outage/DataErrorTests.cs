using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.Outage;

/// <summary>
/// A server reply that says our data is wrong (here: the role epoch holds something INCR cannot increment) means Redis
/// answered. However often it comes, it must not open the breaker: every other key keeps being served from Redis.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class DataErrorTests(SharedRedisFixture redis)
{
    [Fact]
    public async Task Fifty_not_an_integer_replies_in_a_row_leave_the_breaker_closed()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using (var admin = await redis.ConnectAdminAsync())
        {
            await admin.GetDatabase().StringSetAsync(prefix + "rbac_epoch", "not-a-number");
        }

        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic("bystander"));
        await host.Cache.GetUserBasicAsync("bystander", loader.Load);
        await host.WaitForWriteBacksAsync();

        for (int i = 0; i < 50; i++)
        {
            // Each one's INCR of the epoch is answered "ERR value is not an integer or out of range".
            await host.Cache.InvalidateRolePermissionsAsync("role-" + i);
        }

        // Each invalidation also makes successful calls (which reset the failure count), so the 50 in a row come from
        // the background replay of the remembered ones: every round sends their INCRs back to back.
        await Task.Delay(TimeSpan.FromSeconds(1));
        int before = loader.Calls;
        Same.Value(Models.UserBasic("bystander"), await host.Cache.GetUserBasicAsync("bystander", loader.Load));

        Assert.Equal(BreakerState.Closed, host.Connection.BreakerState);
        Assert.Equal(before, loader.Calls);
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Id == Log.CacheUnavailableId);
    }
}
