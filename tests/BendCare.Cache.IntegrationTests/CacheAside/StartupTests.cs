using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.CacheAside;

/// <summary>
/// A fresh instance, used as a service uses it: build the provider (or start the host) and call at once. The very first
/// requests wait for the first connect (within one operation timeout of its start), so they are cached and shared like
/// any others; against a server that does not answer only that first window pays, and never more than the timeout.
/// Nothing here waits on an internal signal before the call under test.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class StartupTests(SharedRedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_just_built_providers_first_miss_is_written_back_and_the_next_read_hits()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var provider = Provider(redis.Server.Host, redis.Server.Port, prefix);
        var cache = provider.GetRequiredService<IRbacCache>();

        var first = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1", "v1"));
        Same.Value(Models.UserBasic("u1", "v1"), await cache.GetUserBasicAsync("u1", first.Load));

        // Read after the user-visible call: the write-back has landed.
        await WaitForWriteBacksAsync(provider);
        var second = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1", "v2"));
        Same.Value(Models.UserBasic("u1", "v1"), await cache.GetUserBasicAsync("u1", second.Load));
        Assert.Equal(0, second.Calls);
    }

    [Fact]
    public async Task Two_hundred_concurrent_first_callers_on_a_just_built_provider_share_one_load()
    {
        await using var provider = Provider(redis.Server.Host, redis.Server.Port, SharedRedisFixture.NewKeyPrefix());
        var cache = provider.GetRequiredService<IRbacCache>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        async ValueTask<UserContext?> Loader(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            await gate.Task.WaitAsync(ct);
            return Models.UserContext("u1", "v1", "r1");
        }

        var callers = Enumerable.Range(0, 200).Select(_ => cache.GetUserContextAsync("u1", Loader).AsTask()).ToArray();
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        gate.SetResult();
        foreach (var caller in callers)
        {
            Same.Value(Models.UserContext("u1", "v1", "r1"), await caller);
        }

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_host_connects_when_it_starts_before_any_request_and_validates_the_options_there()
    {
        string clientName = "startup-" + Guid.NewGuid().ToString("N")[..8];
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddBendCareRedisCache(o =>
        {
            o.Host = redis.Server.Host;
            o.Port = redis.Server.Port;
            o.KeyPrefix = SharedRedisFixture.NewKeyPrefix();
            o.ConfigureConnection = c => c.ClientName = clientName;
        });
        using var host = builder.Build();
        await host.StartAsync();

        // Observed from the server: the library's client connects although nothing resolved the cache.
        await using var admin = await redis.ConnectAdminAsync();
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while ((await server.ClientListAsync()).All(c => c.Name != clientName))
        {
            Assert.True(DateTime.UtcNow < deadline, "the library's client never connected after the host started");
            await Task.Delay(50);
        }

        await host.StopAsync();

        var invalid = Host.CreateApplicationBuilder();
        invalid.Services.AddBendCareRedisCache(o =>
        {
            o.Host = redis.Server.Host;
            o.Port = 0;
        });
        using var invalidHost = invalid.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => invalidHost.StartAsync());
        Assert.Contains("Port", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("blackholed")]
    [InlineData("refused")]
    public async Task A_first_call_against_a_server_that_does_not_answer_returns_the_loaders_value(string fault)
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        if (fault == "blackholed")
        {
            proxy.Start();
            proxy.Blackhole();
        }
        else
        {
            proxy.Refuse();
        }

        await using var provider = Provider("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o => o.OperationTimeout = TimeSpan.FromMilliseconds(150));
        var cache = provider.GetRequiredService<IRbacCache>();
        var latencies = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            long started = Stopwatch.GetTimestamp();
            var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u" + i));
            Same.Value(Models.UserBasic("u" + i), await cache.GetUserBasicAsync("u" + i, loader.Load));
            Assert.Equal(1, loader.Calls);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        // A figure for the notes, not an assertion: the first call may wait up to the timeout, later ones should not.
        output.WriteLine($"{fault} at start-up: call latencies {string.Join(", ", latencies.Select(l => $"{l:F1} ms"))}");
    }

    private static ServiceProvider Provider(string host, int port, string prefix, Action<BendCareCacheOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddBendCareRedisCache(o =>
        {
            o.Host = host;
            o.Port = port;
            o.KeyPrefix = prefix;
            o.OperationTimeout = TimeSpan.FromSeconds(1);
            configure?.Invoke(o);
        });
        return services.BuildServiceProvider();
    }

    private static async Task WaitForWriteBacksAsync(IServiceProvider provider)
    {
        var engine = provider.GetRequiredService<Cache.CacheAside.CacheAsideEngine>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (engine.WriteBacksInFlight != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }
    }
}
