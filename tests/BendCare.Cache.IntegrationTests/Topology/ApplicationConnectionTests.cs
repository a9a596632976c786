using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Topology;

/// <summary>
/// A multiplexer the application owns, given to the library with <c>UseConnection</c>, against a real server: it serves
/// misses and hits; disposing the cache's service provider leaves it open and usable; when it stays broken, the library
/// keeps answering from the loaders, never replaces it, and says so once in a Warning; and when it recovers by itself,
/// hits resume.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class ApplicationConnectionTests(SharedRedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task An_application_multiplexer_serves_a_miss_then_a_hit()
    {
        await using var multiplexer = await ConnectAsync(redis.Server.CreateConfiguration());
        await using var host = await StartAsync(o => o.UseConnection(multiplexer));
        string id = "app-" + Guid.NewGuid().ToString("N");
        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic(id));

        Same.Value(Models.UserBasic(id), await host.Cache.GetUserBasicAsync(id, loader.Load));
        await host.AssertHitsResumeAsync();

        Assert.Equal(1, loader.Calls);
        Assert.Equal(0, host.Connection.MultiplexersCreated);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == Log.ConnectingId && e.Message.Contains("connection supplied by the application", StringComparison.Ordinal));
        Assert.False(string.IsNullOrEmpty(await multiplexer.GetDatabase().StringGetAsync(host.KeyPrefix + "user_basic:" + id)));
    }

    [Fact]
    public async Task Disposing_the_service_provider_leaves_a_multiplexer_taken_from_the_container_open()
    {
        await using var multiplexer = await ConnectAsync(redis.Server.CreateConfiguration());
        var services = new ServiceCollection();
        services.AddSingleton<IConnectionMultiplexer>(multiplexer);
        services.AddBendCareRedisCache(o =>
        {
            o.KeyPrefix = SharedRedisFixture.NewKeyPrefix();
            o.OperationTimeout = TimeSpan.FromSeconds(1);
            o.UseConnection(static sp => sp.GetRequiredService<IConnectionMultiplexer>());
        });
        string id = "owned-" + Guid.NewGuid().ToString("N");
        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic(id));
        await using (var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }))
        {
            var cache = provider.GetRequiredService<IRbacCache>();
            Same.Value(Models.UserBasic(id), await cache.GetUserBasicAsync(id, loader.Load));
        }

        Assert.True(multiplexer.IsConnected);
        await multiplexer.GetDatabase().PingAsync();
        Assert.Equal("ok", (string?)await SetAndGetAsync(multiplexer.GetDatabase(), "after-dispose-" + id));
        Assert.Equal(1, loader.Calls);
    }

    [Fact]
    public async Task A_stuck_application_multiplexer_is_not_replaced_requests_use_the_loader_one_warning_says_why_and_hits_resume_when_it_recovers()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        await using var multiplexer = await ConnectAsync(redis.Server.CreateConfiguration(proxy.EndPoint));
        await using var host = await StartAsync(o =>
        {
            o.UseConnection(multiplexer);
            o.OperationTimeout = new BendCareCacheOptions().OperationTimeout;
            o.ReconnectAfter = TimeSpan.FromSeconds(1);
            o.MinReconnectInterval = TimeSpan.FromSeconds(1);
        });
        await host.AssertHitsResumeAsync();

        proxy.Blackhole();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        int reads = 0;
        while (!host.Logs.Entries.Any(e => e.EventId.Id == Log.ApplicationConnectionNotReplacedId))
        {
            Assert.True(DateTime.UtcNow < deadline, "no Warning 2013 within 30 s: " + Describe(host));
            string id = $"stuck-{reads++}";
            Same.Value(Models.UserBasic(id), await host.Cache.GetUserBasicAsync(id, _ => ValueTask.FromResult<UserBasicInfo?>(Models.UserBasic(id))));
            await Task.Delay(20);
        }

        // Well past ReconnectAfter and MinReconnectInterval: a connection of the library's would have been replaced by now.
        for (int i = 0; i < 50; i++)
        {
            string id = $"still-stuck-{i}";
            Same.Value(Models.UserBasic(id), await host.Cache.GetUserBasicAsync(id, _ => ValueTask.FromResult<UserBasicInfo?>(Models.UserBasic(id))));
            await Task.Delay(40);
        }

        output.WriteLine(Describe(host));
        var warning = Assert.Single(host.Logs.Entries, e => e.EventId.Id == Log.ApplicationConnectionNotReplacedId);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("cannot replace a connection it does not own", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Id == Log.ForcedReconnectId);
        Assert.Equal(0, host.Connection.MultiplexersCreated);
        Assert.Same(multiplexer, host.Connection.Multiplexer);

        // The application's multiplexer reconnects by itself once the network passes again; the library follows.
        proxy.Pass();
        proxy.DropAll();
        await host.AssertHitsResumeAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions config)
    {
        // The eviction watch reads INFO, which the client sends only in admin mode (the server's ACL still decides).
        config.AllowAdmin = true;
        config.ClientName = "application-owned";
        return await ConnectionMultiplexer.ConnectAsync(config);
    }

    private static async Task<RedisValue> SetAndGetAsync(IDatabase database, string key)
    {
        await database.StringSetAsync(key, "ok", TimeSpan.FromMinutes(1));
        return await database.StringGetAsync(key);
    }

    private Task<CacheHost> StartAsync(Action<BendCareCacheOptions> configure) =>
        CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, SharedRedisFixture.NewKeyPrefix(), configure, waitForConnection: false);

    private static string Describe(CacheHost host) =>
        $"breaker {host.Connection.BreakerState}, last error {host.Connection.LastError} | logs: "
        + string.Join(" | ", host.Logs.Entries.Where(e => e.EventId.Id is >= 2000 and < 3000).Select(e => $"{e.EventId.Id} {e.Level}: {e.Message}"));
}
