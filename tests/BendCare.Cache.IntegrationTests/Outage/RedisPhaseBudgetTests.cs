using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Cluster;
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
        await using var slow = await SlowRedis.StartAsync(redis, threshold: 3);
        var (host, counters, roundTrip, timeout) = (slow.Host, slow.Counters, slow.RoundTrip, slow.Timeout);

        // Three slow calls open the breaker (threshold 3). One more is allowed: a call goes uncounted when this process
        // stalls so long that its reply arrives before its timeout is handled (time the process ran late does not count
        // against an operation, see OperationDeadlines). Each call stops at the opening.
        var waits = new List<TimeSpan>();
        for (int i = 0; i < 4 && !BreakerOpened(host); i++)
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

        // A call's second step ran out of time, and that counts as Redis being slow: the breaker opened, which the log
        // says (Warning 2003). Not the breaker's state now: Redis answers, so the background probe may have closed it.
        Assert.True(BreakerOpened(host), $"no breaker opening after {waits.Count} slow calls");

        // It opened at the third timeout counted (the operator's timeouts counter), not before and not later.
        Assert.Equal(3, counters.Of(CacheCounters.Timeouts, "user_context"));

        // Two steps took two round trips (1.33 timeouts) before; one timeout plus slack tells them apart.
        // The median of the first three, so one late continuation on a busy machine does not decide it.
        var median = waits.Take(3).Order().ElementAt(1);
        Assert.True(median < timeout * 1.2, $"loader reached after {median.TotalMilliseconds:F0} ms (median), timeout {timeout.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_slow_reply_to_a_background_write_back_does_not_undo_a_timeout_towards_the_breaker()
    {
        // One round trip fits the timeout, but takes more than half of it: a slow reply, which is no proof of health.
        await using var slow = await SlowRedis.StartAsync(redis, threshold: 2);
        var (host, counters, roundTrip, timeout) = (slow.Host, slow.Counters, slow.RoundTrip, slow.Timeout);

        // A user context miss whose epoch GET times out: one failure, which the timeouts counter shows as an operator's
        // dashboard would. A miss that went uncounted (the process stalled: time it ran late is not held against
        // Redis) is tried again; it changes nothing else, its slow GET neither adds nor resets.
        Assert.True(await CountedTimeoutAsync(host, counters, "slow-a"), "no user context miss timed out in 3 tries");

        // A role permissions miss: one slow GET, then its write-back in the background, whose reply is as slow.
        var loaded = await host.Cache.GetRolePermissionsAsync("slow-r", _ => ValueTask.FromResult<RolePermissions?>(Models.RolePermissions("slow-r")));
        Same.Value(Models.RolePermissions("slow-r"), loaded);

        // An ordering step before the behaviour under test, read from the engine (internal): the write-back's slow
        // reply has arrived before the next timeout. No user-visible signal says when a background reply came back.
        var drained = Stopwatch.StartNew();
        await host.WaitForWriteBacksAsync();

        // The second failure in a row: with the write-back's slow reply counted as a success in between, the count
        // would have started again, and the breaker stayed closed while every user context miss waited a timeout.
        Assert.True(await CountedTimeoutAsync(host, counters, "slow-b"), "no user context miss timed out in 3 tries");

        output.WriteLine($"round trip {roundTrip.TotalMilliseconds:F0} ms, timeout {timeout.TotalMilliseconds:F0} ms, write-back drained after {drained.ElapsedMilliseconds} ms, timeouts counted {counters.Total(CacheCounters.Timeouts)}");
        Assert.True(BreakerOpened(host), "the breaker did not open after two timed-out calls with a slow write-back between them");
    }

    [Fact]
    public async Task On_a_redis_that_stays_slow_each_probe_costs_at_most_one_timed_out_request()
    {
        // Every reply takes one proxy round trip: within the timeout, but more than half of it. A user context miss
        // (GET, then the epoch GET) does not fit.
        await using var slow = await SlowRedis.StartAsync(redis, threshold: 3);
        var (host, counters, roundTrip, timeout) = (slow.Host, slow.Counters, slow.RoundTrip, slow.Timeout);
        for (int i = 0; i < 4 && !BreakerOpened(host); i++)
        {
            await MissAsync(host, "open-" + i);
        }

        Assert.True(BreakerOpened(host), "no breaker opening after 4 slow calls");
        long timeoutsAtOpening = counters.Of(CacheCounters.Timeouts, "user_context");

        // Redis stays slow for 3 s while requests keep coming. The background probe PINGs it after each open period;
        // each PING is answered as slowly as everything else. A plain close on such an answer sent a threshold's worth
        // of requests back to wait their whole budget before it opened again; a primed close lets one through, whose
        // timeout reopens it at once, for a doubled period.
        var slowPeriod = Stopwatch.StartNew();
        int calls = 0;
        var timedOutAt = new List<long>();
        while (slowPeriod.Elapsed < TimeSpan.FromSeconds(3))
        {
            long before = counters.Of(CacheCounters.Timeouts, "user_context");
            await MissAsync(host, "slow-" + calls++);
            if (counters.Of(CacheCounters.Timeouts, "user_context") != before)
            {
                timedOutAt.Add(slowPeriod.ElapsedMilliseconds);
            }

            await Task.Delay(50);
        }

        // The probes back off (0.25, 0.5, 1 s): at most three primed closings in 3 s, each letting one request time out.
        // A plain close let three through each time (6 in 3 s before this rule).
        long extra = counters.Of(CacheCounters.Timeouts, "user_context") - timeoutsAtOpening;
        output.WriteLine($"round trip {roundTrip.TotalMilliseconds:F0} ms, timeout {timeout.TotalMilliseconds:F0} ms, {calls} calls while slow, {extra} more user context timeouts, at {string.Join(", ", timedOutAt.Select(t => $"{t} ms"))}");
        Assert.True(extra <= 3, $"{extra} requests timed out in 3 s while Redis stayed slow");

        // And at least one did: the breaker closed (primed) on a slow but answering Redis, rather than staying open
        // for good, which would disable the cache on a Redis whose round trip is merely long.
        Assert.True(extra >= 1, "no request reached Redis in 3 s: the breaker never closed on a slow but answering Redis");

        // Fast again: a probe closes it for good, and requests read Redis once more.
        slow.Heal();
        var healed = Stopwatch.StartNew();
        long hitsBefore = counters.Of(CacheCounters.Hits, "user_context");
        while (counters.Of(CacheCounters.Hits, "user_context") == hitsBefore && healed.Elapsed < TimeSpan.FromSeconds(10))
        {
            await MissAsync(host, "after");
            await Task.Delay(50);
        }

        Assert.True(counters.Of(CacheCounters.Hits, "user_context") > hitsBefore, "no hit within 10 s of Redis being fast again");
    }

    private static async Task MissAsync(CacheHost host, string id)
    {
        var loaded = await host.Cache.GetUserContextAsync(id, _ => ValueTask.FromResult<UserContext?>(Models.UserContext(id)));
        Same.Value(Models.UserContext(id), loaded);
    }

    /// <summary>User context misses (up to 3) until one's timeout is counted; each reaches its loader after about one timeout.</summary>
    private static async Task<bool> CountedTimeoutAsync(CacheHost host, CacheCounters counters, string userId)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = counters.Of(CacheCounters.Timeouts, "user_context");
            string id = userId + "-" + attempt;
            var loaded = await host.Cache.GetUserContextAsync(id, _ => ValueTask.FromResult<UserContext?>(Models.UserContext(id)));
            Same.Value(Models.UserContext(id), loaded);
            if (counters.Of(CacheCounters.Timeouts, "user_context") > before)
            {
                return true;
            }
        }

        return false;
    }

    private static bool BreakerOpened(CacheHost host) =>
        host.Logs.Entries.Any(e => e.EventId.Id == BendCare.Cache.Diagnostics.Log.CacheUnavailableId);

    /// <summary>
    /// A host behind a proxy that delays every chunk 100 ms each way, its timeout calibrated to 1.5 proxy round trips
    /// (one step fits, two do not), with its read and write-back paths warmed while the proxy still passed at once.
    /// </summary>
    private sealed class SlowRedis : IAsyncDisposable
    {
        private readonly TcpFaultProxy _proxy;

        private SlowRedis(TcpFaultProxy proxy, CacheHost host, CacheCounters counters, TimeSpan roundTrip)
        {
            _proxy = proxy;
            Host = host;
            Counters = counters;
            RoundTrip = roundTrip;
        }

        public CacheHost Host { get; }

        /// <summary>The host's counters, as an operator's metrics pipeline sees them.</summary>
        public CacheCounters Counters { get; }

        public TimeSpan RoundTrip { get; }

        public TimeSpan Timeout => RoundTrip * 1.5;

        /// <summary>Redis answers at once again.</summary>
        public void Heal() => _proxy.Pass();

        public static async Task<SlowRedis> StartAsync(SharedRedisFixture redis, int threshold)
        {
            var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
            var counters = new CacheCounters();
            CacheHost? host = null;
            try
            {
                proxy.Start();
                proxy.Delay(TimeSpan.FromMilliseconds(100));

                // Calibrate on this machine: the fastest of a few round trips.
                var roundTrip = await MeasureRoundTripAsync(proxy);
                host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o =>
                {
                    o.OperationTimeout = roundTrip * 1.5;
                    o.BreakerFailureThreshold = threshold;

                    // No keep-alive traffic: the proxy holds chunks back in order, and a PING ahead of a GET would slow it.
                    o.ConfigureConnection = c =>
                    {
                        c.HeartbeatInterval = TimeSpan.FromSeconds(30);
                        c.KeepAlive = 60;
                    };
                });
                counters.Bind(host);

                // The first call of a process compiles the read path: on a busy machine that can eat the budget left
                // after the first slow step, and the epoch GET is then never sent (out of time, counted only when the GET was slow).
                // Warm the read and write-back paths on a fast proxy first; a test's slow calls are what a running
                // service meets.
                proxy.Pass();
                _ = await host.Cache.GetUserContextAsync("warm", _ => ValueTask.FromResult<UserContext?>(Models.UserContext("warm")));
                _ = await host.Cache.GetUserContextAsync("warm", _ => ValueTask.FromResult<UserContext?>(Models.UserContext("warm")));
                _ = await host.Cache.GetRolePermissionsAsync("warm", _ => ValueTask.FromResult<RolePermissions?>(Models.RolePermissions("warm")));

                // Internal, read after the calls returned: the warm-up's write-backs have landed before Redis turns slow.
                await host.WaitForWriteBacksAsync();
                proxy.Delay(TimeSpan.FromMilliseconds(100));
                return new SlowRedis(proxy, host, counters, roundTrip);
            }
            catch
            {
                if (host is not null)
                {
                    await host.DisposeAsync();
                }

                counters.Dispose();
                await proxy.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Counters.Dispose();
            await _proxy.DisposeAsync();
        }
    }

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
