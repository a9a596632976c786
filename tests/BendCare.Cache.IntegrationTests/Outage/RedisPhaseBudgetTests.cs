using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Outage;

/// <summary>
/// All the Redis steps of one call before its loader runs (the GET, the epoch GET of a user context, healing a
/// foreign value) share one operation timeout: a slow Redis delays a miss by at most that, and slow steps count
/// towards the breaker.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class RedisPhaseBudgetTests(SharedRedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_user_context_miss_on_a_slow_redis_reaches_its_loader_within_one_operation_timeout_and_opens_the_breaker()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        proxy.Delay(TimeSpan.FromMilliseconds(100));

        // Calibrate on this machine: the timeout is 1.5 round trips, so one step fits and two do not.
        var roundTrip = await MeasureRoundTripAsync(proxy);
        var timeout = roundTrip * 1.5;
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o =>
        {
            o.OperationTimeout = timeout;
            o.BreakerFailureThreshold = 3;

            // No keep-alive traffic: the proxy holds chunks back in order, and a PING ahead of a GET would slow it.
            o.ConfigureConnection = c =>
            {
                c.HeartbeatInterval = TimeSpan.FromSeconds(30);
                c.KeepAlive = 60;
            };
        });

        // Three slow calls open the breaker (threshold 3). A call may go uncounted when this process stalls: time the
        // process ran late does not count against an operation, so the reply can arrive before its timeout is handled
        // (a success, see OperationDeadlines). Up to three more calls are allowed for that; each stops at the opening.
        var waits = new List<TimeSpan>();
        for (int i = 0; i < 6 && !BreakerOpened(host); i++)
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

        output.WriteLine($"round trip {roundTrip.TotalMilliseconds:F0} ms, timeout {timeout.TotalMilliseconds:F0} ms, loader reached after: " + string.Join(", ", waits.Select(w => $"{w.TotalMilliseconds:F0} ms")));

        // Each call's second step ran out of time, and that counts as Redis being slow: the breaker opened, which the
        // log says (Warning 2003). Not the breaker's state now: Redis answers, so the background probe may have closed it.
        Assert.True(BreakerOpened(host), $"no breaker opening after {waits.Count} slow calls");
        Assert.True(waits.Count >= 3, $"the breaker opened after {waits.Count} calls, threshold 3");

        // Two steps took two round trips (1.33 timeouts) before; one timeout plus slack tells them apart.
        // The median of the first three, so one late continuation on a busy machine does not decide it.
        var median = waits.Take(3).Order().ElementAt(1);
        Assert.True(median < timeout * 1.2, $"loader reached after {median.TotalMilliseconds:F0} ms (median), timeout {timeout.TotalMilliseconds:F0} ms");
    }

    private static bool BreakerOpened(CacheHost host) =>
        host.Logs.Entries.Any(e => e.EventId.Id == BendCare.Cache.Diagnostics.Log.CacheUnavailableId);

    private static async Task<TimeSpan> MeasureRoundTripAsync(TcpFaultProxy proxy)
    {
        var config = ConfigurationOptions.Parse(proxy.ConnectionString);
        config.HeartbeatInterval = TimeSpan.FromSeconds(30);
        await using var probe = await ConnectionMultiplexer.ConnectAsync(config);
        var db = probe.GetDatabase();
        var samples = new List<TimeSpan>();
        for (int i = 0; i < 5; i++)
        {
            long started = Stopwatch.GetTimestamp();
            await db.StringGetAsync("calibration");
            samples.Add(Stopwatch.GetElapsedTime(started));
        }

        // The fastest: a busy moment during calibration must not make the timeout long enough for two steps.
        samples.Sort();
        return samples[0];
    }
}
