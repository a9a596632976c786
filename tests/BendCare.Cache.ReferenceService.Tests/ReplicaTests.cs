using System.Net;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.ReferenceService.Tests.Support;

namespace BendCare.Cache.ReferenceService.Tests;

/// <summary>
/// Two replicas of the service: one Redis, one SQLite file (seeded by the first). An edit on A commits to the database,
/// then invalidates; B, which had the old answer cached, must give the new one on its very next request.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class ReplicaTests(SharedRedisFixture redis) : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private ServiceInstance _a = null!;
    private ServiceInstance _b = null!;

    public Task InitializeAsync()
    {
        var settings = TestSettings.For(redis.Server, SharedRedisFixture.NewKeyPrefix(), _database);
        _a = ServiceInstance.Start(settings); // creates and seeds the database
        _b = ServiceInstance.Start(settings); // finds it seeded
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _database.Dispose();
    }

    [Fact]
    public async Task A_token_revoked_on_one_instance_is_refused_with_401_by_the_other_on_its_next_request()
    {
        string token = await _a.LoginAsync("u17");
        await _b.ServeFromCacheAsync("/reports", token, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.NoContent, await _a.LogoutAsync(token));

        using var refused = await _b.GetAsync("/reports", token);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, await _a.StatusOfAsync("/reports", token));
        Assert.Equal(HttpStatusCode.Unauthorized, await _b.LogoutAsync(token));
    }

    [Fact]
    public async Task A_permission_removed_from_a_role_on_one_instance_turns_the_others_cached_200_into_403_at_once()
    {
        string admin = await _a.LoginAsync("admin");
        string token = await _a.LoginAsync("u17");
        Assert.Equal(HttpStatusCode.NoContent, await _a.PutAsync("/roles/r5/permissions", admin, ["reports:read", "patients:read"]));
        Assert.Equal(HttpStatusCode.NoContent, await _a.PutAsync("/users/u17/roles", admin, ["r5"]));
        await _b.ServeFromCacheAsync("/reports", token, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.NoContent, await _a.PutAsync("/roles/r5/permissions", admin, ["patients:read"]));

        Assert.Equal(HttpStatusCode.Forbidden, await _b.StatusOfAsync("/reports", token));
        Assert.Equal(HttpStatusCode.OK, await _b.StatusOfAsync("/patients", token));
    }

    [Fact]
    public async Task A_role_taken_from_a_user_on_one_instance_is_403_on_the_other_at_once_and_a_role_given_back_is_200_at_once()
    {
        string admin = await _a.LoginAsync("admin");
        string token = await _a.LoginAsync("u17");
        Assert.Equal(HttpStatusCode.NoContent, await _a.PutAsync("/roles/r5/permissions", admin, ["reports:read"]));
        Assert.Equal(HttpStatusCode.NoContent, await _a.PutAsync("/roles/r6/permissions", admin, ["billing:read"]));
        Assert.Equal(HttpStatusCode.NoContent, await _a.PutAsync("/users/u17/roles", admin, ["r5"]));
        await _b.ServeFromCacheAsync("/reports", token, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.NoContent, await _a.PutAsync("/users/u17/roles", admin, ["r6"]));

        Assert.Equal(HttpStatusCode.Forbidden, await _b.StatusOfAsync("/reports", token));
        Assert.Equal(HttpStatusCode.OK, await _b.StatusOfAsync("/billing", token));

        await _b.ServeFromCacheAsync("/reports", token, HttpStatusCode.Forbidden);

        Assert.Equal(HttpStatusCode.NoContent, await _a.PutAsync("/users/u17/roles", admin, ["r6", "r5"]));

        Assert.Equal(HttpStatusCode.OK, await _b.StatusOfAsync("/reports", token));
    }
}
