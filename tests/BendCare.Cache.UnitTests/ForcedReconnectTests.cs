using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// A multiplexer whose PING answers while the requests on it keep failing makes the breaker flap: open, probe
/// succeeds, closed, requests fail, open again. The forced reconnect must count the whole episode, not restart its
/// clock at every probe. Time is a <see cref="FakeTimeProvider"/>; the operations' outcomes are supplied by the test.
/// </summary>
public class ForcedReconnectTests
{
    private static readonly Func<IDatabase, int, Task<bool>> Failing =
        static (_, _) => Task.FromException<bool>(new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "SocketFailure on GET"));

    [Fact]
    public async Task A_flapping_breaker_gets_the_multiplexer_replaced_after_ReconnectAfter()
    {
        var time = new FakeTimeProvider();
        var options = new BendCareCacheOptions { Host = "cache.invalid" };
        int created = 0;
        await using var connection = new RedisConnection(options, new CacheMetrics(null), NullLogger.Instance, time, (_, _) =>
        {
            Interlocked.Increment(ref created);
            return Task.FromResult(PingingMultiplexer.Create(TimeSpan.FromMilliseconds(1)));
        });
        await connection.FirstConnected;

        // Up to 100 s of fake time (the first replacement may come MinReconnectInterval after the connect, 60 s): each
        // 250 ms, three failing requests open the breaker and the next background PING closes it again.
        for (int round = 0; round < 400 && Volatile.Read(ref created) < 2; round++)
        {
            for (int i = 0; i < options.BreakerFailureThreshold; i++)
            {
                await connection.ExecuteAsync("key", Failing, 0, "test");
            }

            time.Advance(TimeSpan.FromMilliseconds(250));

            // The probe and the replacement run on the thread pool from the fake timer's ticks: let them run before the
            // next 250 ms of fake time, as they would in real time (400 rounds of fake time otherwise pass in a few
            // real milliseconds, skipping the background runs still in progress).
            await Task.Delay(1);
        }

        await WaitForAsync(() => Volatile.Read(ref created) >= 2);
        Assert.Equal(2, Volatile.Read(ref created));
    }

    [Fact]
    public async Task Short_episodes_separated_by_stable_periods_never_get_the_multiplexer_replaced()
    {
        var time = new FakeTimeProvider();
        var options = new BendCareCacheOptions { Host = "cache.invalid" };
        int created = 0;
        await using var connection = new RedisConnection(options, new CacheMetrics(null), NullLogger.Instance, time, (_, _) =>
        {
            Interlocked.Increment(ref created);
            return Task.FromResult(PingingMultiplexer.Create(TimeSpan.FromMilliseconds(1)));
        });
        await connection.FirstConnected;

        // One short failure episode a minute, for ten minutes: the breaker is closed and stable in between.
        for (int minute = 0; minute < 10; minute++)
        {
            for (int i = 0; i < options.BreakerFailureThreshold; i++)
            {
                await connection.ExecuteAsync("key", Failing, 0, "test");
            }

            for (int tick = 0; tick < 240; tick++)
            {
                time.Advance(TimeSpan.FromMilliseconds(250));
            }
        }

        Assert.Equal(BreakerState.Closed, connection.BreakerState);
        Assert.Equal(1, Volatile.Read(ref created));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        // The replacement connects on the thread pool: wait for that, bounded, without asserting how long it takes.
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
    }
}
