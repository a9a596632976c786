using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Outage;

/// <summary>
/// All the Redis steps of one call before its loader runs (the GET, the epoch GET of a user context, healing a
/// foreign value) share one operation timeout: a slow Redis delays a miss by at most that, and slow steps count
/// towards the breaker.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class RedisPhaseBudgetTests(SharedRedisFixture redis)
{
    [Fact]
    public async Task A_user_context_miss_on_a_slow_redis_reaches_its_loader_within_one_operation_timeout_and_opens_the_breaker()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o =>
        {
            o.OperationTimeout = TimeSpan.FromSeconds(1);
            o.BreakerFailureThreshold = 3;
        });

        // Each round trip now takes about 800 ms: one step fits the timeout, two do not.
        proxy.Delay(TimeSpan.FromMilliseconds(400));
        var waits = new List<TimeSpan>();
        for (int i = 0; i < 3; i++)
        {
            long started = Stopwatch.GetTimestamp();
            TimeSpan waited = TimeSpan.Zero;
            var loaded = await host.Cache.GetUserContextAsync("slow-" + i, ct =>
            {
                waited = Stopwatch.GetElapsedTime(started);
                return ValueTask.FromResult<UserContext?>(Models.UserContext("slow-" + i));
            });
            Same.Value(Models.UserContext("slow-" + i), loaded);
            waits.Add(waited);
        }

        // Two steps of 800 ms each took 1.6 s before; a bound of one timeout plus scheduling slack tells them apart.
        Assert.All(waits, w => Assert.True(w < TimeSpan.FromMilliseconds(1300), $"loader reached after {w.TotalMilliseconds:F0} ms"));

        // Read after the user-visible calls: each call's second step ran out of time, and that counts as Redis being slow.
        Assert.NotEqual(Connection.BreakerState.Closed, host.Connection.BreakerState);
    }
}
