using System.Net;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.ReferenceService.Tests.Support;

namespace BendCare.Cache.ReferenceService.Tests;

/// <summary>
/// The service's Redis process is killed and later started again on the same port, while a user keeps calling.
/// (A server of this test's own: the shared one must not be killed. In the shared collection so that it does not
/// compete for the two cores with the other classes.)
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class RedisOutageTests : IDisposable
{
    private const int Requests = 20;

    // Per request while Redis is down: the blacklist, the token's record and the user context come from SQLite.
    private const int QueriesPerUncachedRequest = 3;

    private readonly TempDatabase _database = new();

    [Fact]
    public async Task Requests_are_served_from_sqlite_while_redis_is_down_health_is_degraded_with_200_and_hits_resume_when_it_is_back()
    {
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { RequireRestartable = true });
        await using var service = ServiceInstance.Start(TestSettings.For(server, SharedRedisFixture.NewKeyPrefix(), _database));
        string token = await service.LoginAsync("u17");
        await service.ServeFromCacheAsync("/reports", token, HttpStatusCode.OK);

        await server.KillAsync();

        long queriesBefore = (await service.StatsAsync()).Database.Queries;
        for (int i = 0; i < Requests; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await service.StatusOfAsync("/reports", token));
        }

        long queriesDuring = (await service.StatsAsync()).Database.Queries - queriesBefore;
        Assert.Equal(Requests * QueriesPerUncachedRequest, queriesDuring);

        // The health check turns Degraded once the library has seen the failures; poll it (as a load balancer
        // would) with a generous deadline. It must answer 200 every time: the service still works.
        string lastHealth = "";
        await Eventually.HoldsAsync(
            async () =>
            {
                var health = await service.HealthAsync();
                Assert.Equal(HttpStatusCode.OK, health.Code);
                lastHealth = health.Body;
                return health.Status == "Degraded";
            },
            TimeSpan.FromSeconds(30),
            () => $"/health never said Degraded; last: {lastHealth}");

        await server.RestartAsync();

        // Recovery is the library's background probe and reconnect: poll what a user sees, a request served without
        // a query, with a generous deadline.
        await Eventually.HoldsAsync(
            async () => await service.GetCountingQueriesAsync("/reports", token) is (HttpStatusCode.OK, 0),
            TimeSpan.FromSeconds(60),
            () => "requests still query the database after Redis came back");

        var before = await service.StatsAsync();
        for (int i = 0; i < Requests; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await service.StatusOfAsync("/reports", token));
        }

        var after = await service.StatsAsync();
        Assert.Equal(before.Database.Queries, after.Database.Queries);
        Assert.True(
            after.Hits - before.Hits >= Requests * QueriesPerUncachedRequest,
            $"hits grew by {after.Hits - before.Hits} over {Requests} requests");
        await Eventually.HoldsAsync(async () => (await service.HealthAsync()).Status == "Healthy", TimeSpan.FromSeconds(30), () => "/health never said Healthy again");
    }

    public void Dispose() => _database.Dispose();
}
