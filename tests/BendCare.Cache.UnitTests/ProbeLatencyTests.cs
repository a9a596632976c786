using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// How the background probe of an open breaker judges the PING's latency (the client's own measure, which the test
/// supplies): prompt closes the breaker, over half the operation timeout closes it primed (one failure reopens it),
/// the whole operation timeout or more is a failed probe. Time is a <see cref="FakeTimeProvider"/>; the operations'
/// outcomes are supplied by the test. The default options: threshold 3, timeout 150 ms, probe every 250 ms.
/// </summary>
public class ProbeLatencyTests
{
    private static readonly Func<IDatabase, int, Task<bool>> Failing =
        static (_, _) => Task.FromException<bool>(new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "SocketFailure on GET"));

    [Fact]
    public async Task A_prompt_ping_closes_the_breaker_fully()
    {
        await using var rig = await ProbedAsync(TimeSpan.FromMilliseconds(74));

        await rig.WaitForAsync(() => rig.Connection.BreakerState == BreakerState.Closed);
        await FailAsync(rig.Connection, rig.Options.BreakerFailureThreshold - 1);

        Assert.Equal(BreakerState.Closed, rig.Connection.BreakerState);
    }

    [Fact]
    public async Task A_ping_over_half_the_operation_timeout_closes_the_breaker_primed()
    {
        await using var rig = await ProbedAsync(TimeSpan.FromMilliseconds(75));

        await rig.WaitForAsync(() => rig.Connection.BreakerState == BreakerState.Closed);
        await FailAsync(rig.Connection, 1);

        Assert.Equal(BreakerState.Open, rig.Connection.BreakerState);
    }

    [Fact]
    public async Task A_ping_that_took_the_whole_operation_timeout_is_a_failed_probe()
    {
        await using var rig = await ProbedAsync(TimeSpan.FromMilliseconds(150));

        // The probe counts a timeout and reopens the breaker.
        await rig.WaitForAsync(() => rig.Timeouts == 1);

        Assert.Equal(BreakerState.Open, rig.Connection.BreakerState);
    }

    /// <summary>Opens the breaker with the threshold's failures, then lets the probe's tick come (250 ms later).</summary>
    private static async Task<Rig> ProbedAsync(TimeSpan pingLatency)
    {
        var rig = await Rig.StartAsync(pingLatency);
        await FailAsync(rig.Connection, rig.Options.BreakerFailureThreshold);
        Assert.Equal(BreakerState.Open, rig.Connection.BreakerState);
        rig.Time.Advance(TimeSpan.FromMilliseconds(250));
        return rig;
    }

    private static async Task FailAsync(RedisConnection connection, int times)
    {
        for (int i = 0; i < times; i++)
        {
            await connection.ExecuteAsync("key", Failing, 0, "test");
        }
    }

    private sealed class Rig : IAsyncDisposable
    {
        private readonly MetricCount _timeouts;

        private Rig(BendCareCacheOptions options, FakeTimeProvider time, RedisConnection connection, CacheMetrics metrics)
        {
            Options = options;
            Time = time;
            Connection = connection;
            _timeouts = new MetricCount(metrics, "bendcare.cache.redis.timeouts");
        }

        public BendCareCacheOptions Options { get; }

        public FakeTimeProvider Time { get; }

        public RedisConnection Connection { get; }

        public long Timeouts => _timeouts.Value;

        public static async Task<Rig> StartAsync(TimeSpan pingLatency)
        {
            var options = new BendCareCacheOptions { Host = "cache.invalid" };
            var time = new FakeTimeProvider();
            var metrics = new CacheMetrics(null);
            var connection = new RedisConnection(options, metrics, NullLogger.Instance, time, (_, _) => Task.FromResult(PingingMultiplexer.Create(pingLatency)));
            await connection.FirstConnected;
            return new Rig(options, time, connection, metrics);
        }

        /// <summary>The probe runs on the thread pool from the fake timer's tick: waits for its outcome, bounded, without asserting how long it takes.</summary>
        public async Task WaitForAsync(Func<bool> condition)
        {
            for (int i = 0; i < 500 && !condition(); i++)
            {
                await Task.Delay(10);
            }

            Assert.True(condition(), "the probe's outcome never came");
        }

        public async ValueTask DisposeAsync()
        {
            _timeouts.Dispose();
            await Connection.DisposeAsync();
        }
    }
}
