using System.Net;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.ReferenceService.Tests.Support;
using StackExchange.Redis;

namespace BendCare.Cache.ReferenceService.Tests;

/// <summary>A fresh instance called at once, the cache switch, and the embedded server used when REDIS_HOST is unset.</summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class StartupAndSwitchTests(SharedRedisFixture redis) : IDisposable
{
    // The blacklist, the token's record and the user context.
    private const int QueriesPerUncachedRequest = 3;

    private readonly TempDatabase _database = new();
    private readonly string _keyPrefix = SharedRedisFixture.NewKeyPrefix();

    [Fact]
    public async Task A_fresh_instances_first_protected_request_is_written_back_so_the_same_request_next_makes_no_query()
    {
        await using var service = ServiceInstance.Start(TestSettings.For(redis.Server, _keyPrefix, _database));
        string token = await service.LoginAsync("u17");

        Assert.Equal((HttpStatusCode.OK, QueriesPerUncachedRequest), await service.GetCountingQueriesAsync("/reports", token));

        // The misses are written back in the background. Wait until the server holds them (what every other
        // instance would read), then the same request must be answered from the cache alone.
        string tokenId = ServiceApi.TokenId(token);
        RedisKey[] keys = [$"{_keyPrefix}token_bl:{tokenId}", $"{_keyPrefix}jwt_payload:{tokenId}", $"{_keyPrefix}user_context:u17"];
        await using var admin = await redis.ConnectAdminAsync();
        await Eventually.HoldsAsync(
            async () => await admin.GetDatabase().KeyExistsAsync(keys) == keys.Length,
            TimeSpan.FromSeconds(10),
            () => "the first request's misses were not written back");

        Assert.Equal((HttpStatusCode.OK, 0L), await service.GetCountingQueriesAsync("/reports", token));

        // Every query logged as "Query: <name>" (the dashboards' form): start-up, login, then the first request's
        // three loads (issued together, so in any order), and nothing for the second request.
        var queryLines = service.Logs.Entries.Select(e => e.Message).Where(m => m.StartsWith("Query: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["Query: seed", "Query: user_basic", "Query: issue_token"], queryLines.Take(3));
        Assert.Equal(["Query: jwt_payload", "Query: token_revoked", "Query: user_context"], queryLines.Skip(3).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task With_the_cache_switched_off_every_request_queries_the_database_although_redis_is_configured()
    {
        await using var service = ServiceInstance.Start(TestSettings.For(redis.Server, _keyPrefix, _database) with { Cache = "off" });
        string token = await service.LoginAsync("u17");

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal((HttpStatusCode.OK, QueriesPerUncachedRequest), await service.GetCountingQueriesAsync("/reports", token));
        }

        var stats = await service.StatsAsync();
        Assert.Equal("off", stats.CacheMode);
        Assert.Equal(0, stats.Hits);
        Assert.Equal(5, stats.CacheTypes["user_context"].LoaderCalls);
        var health = await service.HealthAsync();
        Assert.Equal((HttpStatusCode.OK, "Healthy"), (health.Code, health.Status));
        Assert.Contains("disabled", health.Body, StringComparison.Ordinal);

        await using var admin = await redis.ConnectAdminAsync();
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        Assert.Empty(await server.KeysAsync(pattern: _keyPrefix + "*").ToListAsync());
    }

    [Fact]
    public async Task Without_REDIS_HOST_the_service_starts_an_embedded_server_caches_in_it_and_exports_the_meter_for_prometheus()
    {
        await using var service = ServiceInstance.Start(new ServiceSettings { KeyPrefix = _keyPrefix, DatabasePath = _database.Path });
        string token = await service.LoginAsync("u17");

        await service.ServeFromCacheAsync("/patients", token, HttpStatusCode.OK);

        var stats = await service.StatsAsync();
        Assert.Equal("embedded", stats.CacheMode);
        Assert.True(stats.CacheTypes["user_context"].Hits > 0);
        Assert.Equal("Healthy", (await service.HealthAsync()).Status);

        // The same meter, exported for Prometheus.
        string metrics = await service.Client.GetStringAsync("/metrics");
        Assert.Contains("bendcare_cache_hits_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("cache_type=\"user_context\"", metrics, StringComparison.Ordinal);
    }

    public void Dispose() => _database.Dispose();
}
