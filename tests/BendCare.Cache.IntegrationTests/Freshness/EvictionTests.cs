using System.Diagnostics.Metrics;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.Freshness;

/// <summary>
/// Freshness relies on tombstones, role sets and the epoch staying in Redis. A server at its memory limit evicts keys
/// (ElastiCache Serverless does at its capacity limit), so the library watches the servers' eviction counters and says
/// so: a Warning, the <c>bendcare.cache.server.evictions</c> counter, and a Degraded health check.
/// </summary>
public sealed class EvictionTests
{
    [Fact]
    public async Task Evictions_on_the_server_are_logged_counted_and_make_the_health_check_degraded()
    {
        await using var server = await RedisServer.StartAsync();
        long evictions = 0;
        Meter? mine = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CacheMetrics.MeterName && instrument.Name == "bendcare.cache.server.evictions")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (ReferenceEquals(instrument.Meter, Volatile.Read(ref mine)))
            {
                Interlocked.Add(ref evictions, value);
            }
        });
        listener.Start();
        await using var host = await CacheHost.StartAsync(server.Host, server.Port, SharedRedisFixture.NewKeyPrefix());
        Volatile.Write(ref mine, host.Services.GetRequiredService<CacheMetrics>().Meter);
        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1"));
        await host.Cache.GetUserBasicAsync("u1", loader.Load);
        var check = (IHealthCheck)host.Services.GetService(typeof(RedisCacheHealthCheck))!;

        // A server at its limit keeps evicting: fill it until the library reports it (bounded).
        await using (var admin = await server.ConnectAdminAsync())
        {
            var adminServer = admin.GetServer(admin.GetEndPoints()[0]);
            var memory = (await adminServer.InfoAsync("memory")).SelectMany(g => g).First(p => p.Key == "used_memory").Value;
            await adminServer.ConfigSetAsync("maxmemory-policy", "allkeys-lru");
            await adminServer.ConfigSetAsync("maxmemory", (long.Parse(memory, System.Globalization.CultureInfo.InvariantCulture) + (2 << 20)).ToString(System.Globalization.CultureInfo.InvariantCulture));
            var db = admin.GetDatabase();
            var filler = new string('x', 8 << 10);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            for (int round = 0; !host.Logs.Entries.Any(e => e.EventId.Id == Log.ServerEvictionsId); round++)
            {
                Assert.True(DateTime.UtcNow < deadline, "no eviction warning within 20 s; logged: " + string.Join(" | ", host.Logs.Entries.Where(e => e.Level >= LogLevel.Debug).Select(e => $"{e.EventId.Id} {e.Message}")));
                await Task.WhenAll(Enumerable.Range(0, 100).Select(i => db.StringSetAsync($"filler:{round}:{i}", filler)));
                await Task.Delay(100);
            }

            var evicted = (await adminServer.InfoAsync("stats")).SelectMany(g => g).First(p => p.Key == "evicted_keys").Value;
            Assert.NotEqual("0", evicted);
        }

        var health = await check.CheckHealthAsync(new HealthCheckContext());
        var warning = Assert.Single(host.Logs.Entries, e => e.EventId.Id == Log.ServerEvictionsId);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.True(Interlocked.Read(ref evictions) > 0, "the evictions counter did not move");
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("evict", health.Description, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_server_restart_is_reported_like_evictions_because_it_loses_the_freshness_keys()
    {
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { RequireRestartable = true });
        await using var host = await CacheHost.StartAsync(server.Host, server.Port, SharedRedisFixture.NewKeyPrefix(), o => o.EvictionCheckInterval = TimeSpan.FromMilliseconds(200));
        await host.Cache.GetUserBasicAsync("u1", new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1")).Load);
        var check = (IHealthCheck)host.Services.GetService(typeof(RedisCacheHealthCheck))!;

        // A counter seen once gives the watch its baseline; the restart sets it back to 0.
        await using (var admin = await server.ConnectAdminAsync())
        {
            var adminServer = admin.GetServer(admin.GetEndPoints()[0]);
            await adminServer.ConfigSetAsync("maxmemory-policy", "allkeys-lru");
            await adminServer.ConfigSetAsync("maxmemory", "3mb");
            var db = admin.GetDatabase();
            var filler = new string('x', 8 << 10);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            for (int round = 0; !host.Logs.Entries.Any(e => e.EventId.Id == Log.ServerEvictionsId); round++)
            {
                Assert.True(DateTime.UtcNow < deadline, "no eviction warning within 20 s");
                await Task.WhenAll(Enumerable.Range(0, 100).Select(i => db.StringSetAsync($"filler:{round}:{i}", filler)));
                await Task.Delay(100);
            }
        }

        await server.RestartAsync();

        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!host.Logs.Entries.Any(e => e.EventId.Id == Log.ServerRestartedId))
        {
            Assert.True(DateTime.UtcNow < until, "the restart was not reported within 20 s; logged: " + string.Join(" | ", host.Logs.Entries.Select(e => $"{e.EventId.Id} {e.Message}")));
            await host.Cache.GetUserBasicAsync("u1", new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1")).Load);
            await Task.Delay(100);
        }

        var health = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Degraded, health.Status);
    }
}
