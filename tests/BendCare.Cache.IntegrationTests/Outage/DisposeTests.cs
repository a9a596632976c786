using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;

namespace BendCare.Cache.IntegrationTests.Outage;

/// <summary>
/// Disposing the service provider synchronously (console apps, <c>using var provider</c>) must return promptly
/// however Redis is failing: it never waits for a server that does not answer.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class DisposeTests(SharedRedisFixture redis)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Synchronous_dispose_returns_promptly_while_the_server_is_blackholed_with_operations_in_flight()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o => o.OperationTimeout = TimeSpan.FromSeconds(5));
        proxy.Blackhole();
        var inFlight = Enumerable.Range(0, 20)
            .Select(i => host.Cache.IsTokenBlacklistedAsync($"token-{i}", static _ => ValueTask.FromResult(false)).AsTask())
            .ToArray();
        await Task.Delay(100);

        var elapsed = Stopwatch.StartNew();
        ((IDisposable)host.Services).Dispose();
        elapsed.Stop();

        Assert.True(elapsed.Elapsed < Bound, $"Dispose() took {elapsed.Elapsed.TotalMilliseconds:0} ms");
        await Task.WhenAll(inFlight).WaitAsync(TimeSpan.FromSeconds(10));
        await host.DisposeAsync();
    }

    [Fact]
    public async Task Synchronous_dispose_returns_promptly_while_the_first_connect_is_blackholed()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Blackhole();
        proxy.Start();
        var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), waitForConnection: false);
        await host.Cache.IsTokenBlacklistedAsync("token", static _ => ValueTask.FromResult(false));

        var elapsed = Stopwatch.StartNew();
        ((IDisposable)host.Services).Dispose();
        elapsed.Stop();

        Assert.True(elapsed.Elapsed < Bound, $"Dispose() took {elapsed.Elapsed.TotalMilliseconds:0} ms");
        await host.DisposeAsync();
    }
}
