using System.Net;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.ReferenceService.Tests.Support;

namespace BendCare.Cache.ReferenceService.Tests;

/// <summary>
/// Two replicas of the service: one Redis, one SQLite file (seeded by the first). An edit on A commits to the database,
/// then invalidates; B, which had the old answer cached, must give the new one on its very next request.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class ReplicaTests(SharedRedisFixture redis) : IDisposable
{
    private readonly TempDatabase _database = new();
    private readonly string _keyPrefix = SharedRedisFixture.NewKeyPrefix();

    [Fact]
    public async Task A_token_revoked_on_one_instance_is_refused_with_401_by_the_other_on_its_next_request()
    {
        await using var a = ServiceInstance.Start(Settings);
        await using var b = ServiceInstance.Start(Settings);
        string token = await a.LoginAsync("u17");
        await b.ServeFromCacheAsync("/reports", token, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.NoContent, await a.LogoutAsync(token));

        using var refused = await b.GetAsync("/reports", token);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, await a.StatusOfAsync("/reports", token));
        Assert.Equal(HttpStatusCode.Unauthorized, await b.LogoutAsync(token));
    }

    [Fact]
    public async Task A_permission_removed_from_a_role_on_one_instance_turns_the_others_cached_200_into_403_at_once()
    {
        await using var a = ServiceInstance.Start(Settings);
        await using var b = ServiceInstance.Start(Settings);
        string admin = await a.LoginAsync("admin");
        string token = await a.LoginAsync("u17");
        Assert.Equal(HttpStatusCode.NoContent, await a.PutAsync("/roles/r5/permissions", admin, ["reports:read", "patients:read"]));
        Assert.Equal(HttpStatusCode.NoContent, await a.PutAsync("/users/u17/roles", admin, ["r5"]));
        await b.ServeFromCacheAsync("/reports", token, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.NoContent, await a.PutAsync("/roles/r5/permissions", admin, ["patients:read"]));

        Assert.Equal(HttpStatusCode.Forbidden, await b.StatusOfAsync("/reports", token));
        Assert.Equal(HttpStatusCode.OK, await b.StatusOfAsync("/patients", token));
    }

    [Fact]
    public async Task A_role_taken_from_a_user_on_one_instance_is_403_on_the_other_at_once_and_a_role_given_back_is_200_at_once()
    {
        await using var a = ServiceInstance.Start(Settings);
        await using var b = ServiceInstance.Start(Settings);
        string admin = await a.LoginAsync("admin");
        string token = await a.LoginAsync("u17");
        Assert.Equal(HttpStatusCode.NoContent, await a.PutAsync("/roles/r5/permissions", admin, ["reports:read"]));
        Assert.Equal(HttpStatusCode.NoContent, await a.PutAsync("/roles/r6/permissions", admin, ["billing:read"]));
        Assert.Equal(HttpStatusCode.NoContent, await a.PutAsync("/users/u17/roles", admin, ["r5"]));
        await b.ServeFromCacheAsync("/reports", token, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.NoContent, await a.PutAsync("/users/u17/roles", admin, ["r6"]));

        Assert.Equal(HttpStatusCode.Forbidden, await b.StatusOfAsync("/reports", token));
        Assert.Equal(HttpStatusCode.OK, await b.StatusOfAsync("/billing", token));

        await b.ServeFromCacheAsync("/reports", token, HttpStatusCode.Forbidden);

        Assert.Equal(HttpStatusCode.NoContent, await a.PutAsync("/users/u17/roles", admin, ["r6", "r5"]));

        Assert.Equal(HttpStatusCode.OK, await b.StatusOfAsync("/reports", token));
    }

    public void Dispose() => _database.Dispose();

    private ServiceSettings Settings => TestSettings.For(redis.Server, _keyPrefix, _database);
}
