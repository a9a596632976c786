using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Outage;

/// <summary>
/// Attacks on the one deadline sweep that bounds every request-path operation in flight (docs/outage-behaviour.md,
/// "Operation timeout"), against a real server behind a proxy that blackholes it: what callers whose operations end by
/// the sweep experience. Each test fails while the gap is open.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class DeadlineSweepAttackTests(SharedRedisFixture redis, ITestOutputHelper output)
{
    private const int Callers = 4;

    /// <summary>
    /// Redis is blackholed; four requests read at the same moment and their GETs time out together. Each caller's
    /// loader does its database work synchronously (as Microsoft.Data.Sqlite's "async" methods do, or any synchronous
    /// driver): it blocks its thread until the query returns. Here each query returns once all four requests have
    /// reached the database, or after 10 s. With a timer per operation each timed-out caller resumed on a thread of its
    /// own, so the loaders run side by side. The sweep completes every operation it expires one after another on
    /// its own thread, and each caller's continuation (its loader, then the rest of its request) runs inline there:
    /// the second caller's loader starts only when the first caller's has returned. Its wait is the operation timeout
    /// plus every earlier caller's synchronous loader time, not the operation timeout.
    /// </summary>
    [Fact]
    public async Task Callers_whose_reads_time_out_together_each_reach_their_loader_without_waiting_for_the_others_loaders()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o =>
        {
            o.OperationTimeout = new BendCareCacheOptions().OperationTimeout;
            o.BreakerFailureThreshold = 100;

            // The operation timeout alone bounds a request's wait (the client's own timeouts only bound background work).
            o.ConfigureConnection = c => c.AsyncTimeout = c.SyncTimeout = 60_000;
        });

        // The request path has run once (compiled, as in a service that has served requests), then Redis goes silent.
        await host.AssertHitsResumeAsync();
        proxy.Blackhole();
        using var atDatabase = new CountdownEvent(Callers);
        var sawTheOthers = new bool[Callers];
        var enteredAfter = new TimeSpan[Callers];
        var reads = new Task<UserBasicInfo?>[Callers];
        var sent = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < Callers; i++)
        {
            int caller = i;
            string id = $"sweep-{caller}";
            reads[i] = host.Cache.GetUserBasicAsync(id, ct =>
            {
                enteredAfter[caller] = sent.Elapsed;
                atDatabase.Signal();
                sawTheOthers[caller] = atDatabase.Wait(TimeSpan.FromSeconds(10), ct);
                return ValueTask.FromResult<UserBasicInfo?>(Models.UserBasic(id));
            }).AsTask();
        }

        var values = await Task.WhenAll(reads).WaitAsync(TimeSpan.FromSeconds(60));
        for (int i = 0; i < Callers; i++)
        {
            Same.Value(Models.UserBasic($"sweep-{i}"), values[i]);
        }

        output.WriteLine($"loaders that found the other callers at the database while they ran: {sawTheOthers.Count(static s => s)} of {Callers}; "
            + $"each reached its loader after (ms): {string.Join(", ", enteredAfter.Select(static t => t.TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.True(sawTheOthers.All(static s => s), $"{sawTheOthers.Count(static s => !s)} of {Callers} loaders ran alone for 10 s: the callers timed out together were resumed one after another");
    }

    /// <summary>
    /// The application gives the cache its own multiplexer (<c>UseConnection</c>) and disposes the service provider
    /// while a read is in flight on a blackholed server (a request outliving the host's shutdown, a background job).
    /// Disposal disposes the sweep's timer, so an operation in flight then is never expired: the caller waits for the
    /// application multiplexer's own timeout (here 30 s, the application's choice), where the operation timeout
    /// (150 ms) used to end it.
    /// </summary>
    [Fact]
    public async Task A_read_in_flight_when_the_cache_is_disposed_still_ends_at_its_operation_timeout()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        var config = redis.Server.CreateConfiguration(proxy.EndPoint);
        config.AsyncTimeout = 30_000;
        config.SyncTimeout = 30_000;
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(config);
        var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o =>
        {
            o.UseConnection(multiplexer);
            o.OperationTimeout = new BendCareCacheOptions().OperationTimeout;
        });
        await host.AssertHitsResumeAsync();

        proxy.Blackhole();
        var read = host.Cache.GetUserBasicAsync("in-flight", static _ => ValueTask.FromResult<UserBasicInfo?>(Models.UserBasic("in-flight"))).AsTask();
        await host.DisposeAsync();

        var ended = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(ReferenceEquals(ended, read), "the read in flight at disposal had not ended 10 s later (operation timeout 150 ms)");
        Same.Value(Models.UserBasic("in-flight"), await read);
    }
}
