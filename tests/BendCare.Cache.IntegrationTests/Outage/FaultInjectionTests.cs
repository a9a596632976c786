using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Outage;

/// <summary>
/// The failure behaviour, as documentation: under each fault, 32 concurrent callers get only correct loader values
/// and no exception, and once the fault is removed the cache resumes hits by itself.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class FaultInjectionTests(SharedRedisFixture redis)
{
    private const int Callers = 32;

    /// <summary>These tests document the library's default behaviour, so they run with its default timeout.</summary>
    private static readonly Action<BendCareCacheOptions> LibraryDefaults = o => o.OperationTimeout = new BendCareCacheOptions().OperationTimeout;
    private static readonly TimeSpan FaultDuration = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Refused_from_the_start_then_the_server_appears_and_hits_start_without_a_restart()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), LibraryDefaults, waitForConnection: false);

        await HammerAsync(host);
        proxy.Start();

        await AssertResumesHitsAsync(host);
    }

    [Fact]
    public async Task Blackholed_from_the_start_callers_get_loader_values_and_hits_resume_once_it_clears()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Blackhole();
        proxy.Start();
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o =>
            {
                LibraryDefaults(o);
                o.ConnectTimeout = TimeSpan.FromSeconds(1);
            }, waitForConnection: false);

        await HammerAsync(host);
        proxy.Pass();
        proxy.DropAll();

        await AssertResumesHitsAsync(host);
    }

    [Fact]
    public async Task Blackholed_after_connecting_callers_get_loader_values_one_outage_is_logged_and_hits_resume()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), LibraryDefaults);

        proxy.Blackhole();
        await HammerAsync(host);
        proxy.Pass();
        proxy.DropAll();

        await AssertResumesHitsAsync(host);
        Assert.Single(host.Logs.Entries, e => e.EventId.Id == Log.CacheUnavailableId);
    }

    [Fact]
    public async Task Latency_above_the_operation_timeout_gives_callers_loader_values_and_hits_resume_once_it_drops()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), LibraryDefaults);

        proxy.Delay(TimeSpan.FromMilliseconds(400));
        await HammerAsync(host);
        proxy.Pass();

        await AssertResumesHitsAsync(host);
    }

    [Fact]
    public async Task Connections_reset_mid_traffic_give_callers_loader_values_and_hits_resume()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), LibraryDefaults);

        proxy.Reset();
        var hammer = HammerAsync(host);
        proxy.DropAll();
        await hammer;
        proxy.Pass();

        await AssertResumesHitsAsync(host);
    }

    [Fact]
    public async Task Killed_server_gives_callers_loader_values_and_hits_resume_after_its_restart()
    {
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { RequireRestartable = true });
        await using var host = await CacheHost.StartAsync(server.Host, server.Port, SharedRedisFixture.NewKeyPrefix(), LibraryDefaults);

        await server.KillAsync();
        await HammerAsync(host);
        await server.RestartAsync();

        await AssertResumesHitsAsync(host);
    }

    [Fact]
    public async Task Wrong_password_logs_one_error_and_recovers_when_the_password_matches()
    {
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { ExtraArgs = ["--requirepass", "right-password"] });
        await using var host = await CacheHost.StartAsync(server.Host, server.Port, SharedRedisFixture.NewKeyPrefix(), o =>
            {
                LibraryDefaults(o);
                o.Password = "wrong-password";
            }, waitForConnection: false);

        await HammerAsync(host);
        await WaitForLogAsync(host, Log.ConfigurationProblemId);

        Assert.Single(host.Logs.Entries, e => e.Level == LogLevel.Error && e.EventId.Id == Log.ConfigurationProblemId);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains("wrong-password", StringComparison.Ordinal));
        await using (var admin = await ConnectionMultiplexer.ConnectAsync($"{server.Host}:{server.Port},password=right-password,allowAdmin=true"))
        {
            await admin.GetServer(admin.GetEndPoints()[0]).ConfigSetAsync("requirepass", "wrong-password");
        }

        await AssertResumesHitsAsync(host);
    }

    [Fact]
    public async Task Tls_client_against_a_plain_server_falls_back_and_logs_the_reason_once()
    {
        await using var host = await CacheHost.StartAsync(
            redis.Server.Host,
            redis.Server.Port,
            SharedRedisFixture.NewKeyPrefix(),
            o =>
            {
                LibraryDefaults(o);
                o.UseTls = true;
                o.ConnectTimeout = TimeSpan.FromSeconds(1);
            },
            waitForConnection: false);

        await HammerAsync(host);
        await WaitForLogAsync(host, Log.ConfigurationProblemId);
        await HammerAsync(host);

        Assert.False(host.Connection.IsUsable);
        var logged = Assert.Single(host.Logs.Entries, e => e.EventId.Id is Log.CacheUnavailableId or Log.ConfigurationProblemId);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.Contains("Tls", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_check_is_degraded_never_unhealthy_while_redis_is_down()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o =>
            {
                LibraryDefaults(o);
                o.Password = "hunter2-secret";
            });
        var check = (Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck)host.Services.GetService(typeof(BendCare.Cache.Diagnostics.RedisCacheHealthCheck))!;
        var context = new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext();

        var healthy = await check.CheckHealthAsync(context);
        proxy.Stop();
        await HammerAsync(host);
        var degraded = await check.CheckHealthAsync(context);

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, healthy.Status);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, degraded.Status);
        Assert.Equal("Open", degraded.Data["breaker"]);
        Assert.DoesNotContain("hunter2-secret", string.Join(";", degraded.Data.Values), StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{proxy.Port}", (string)degraded.Data["endpoint"], StringComparison.Ordinal);
    }

    /// <summary>
    /// 32 callers read all five types for a while (bounded by time and count). Each loader returns a value unique to
    /// its call; every answer must be exactly that value — a cached answer would be someone else's.
    /// </summary>
    private static async Task HammerAsync(CacheHost host)
    {
        var until = DateTime.UtcNow + FaultDuration;
        var workers = Enumerable.Range(0, Callers).Select(worker => Task.Run(async () =>
        {
            for (int i = 0; i < 10_000 && DateTime.UtcNow < until; i++)
            {
                var type = CacheType.All[i % CacheType.All.Count];
                string id = $"w{worker}-{i}";
                string version = $"db-{worker}-{i}";
                var value = await type.GetAsync(host.Cache, id, _ => ValueTask.FromResult<object?>(type.Make(id, version)));
                Same.Value(type.Make(id, version), value);
            }
        })).ToArray();
        await Task.WhenAll(workers);
    }

    private static async Task WaitForLogAsync(CacheHost host, int eventId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!host.Logs.Entries.Any(e => e.EventId.Id == eventId))
        {
            Assert.True(DateTime.UtcNow < deadline, $"event {eventId} was not logged within 20 s; logged: " + string.Join(" | ", host.Logs.Entries.Where(e => e.Level >= LogLevel.Information).Select(e => $"{e.EventId.Id} {e.Message}")));
            await Task.Delay(25);
        }
    }

    /// <summary>Waits (bounded) until a value written back is served as a hit again, with no help from the test.</summary>
    private static Task AssertResumesHitsAsync(CacheHost host) => host.AssertHitsResumeAsync();
}
