using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.ReferenceService.Tests.Support;

namespace BendCare.Cache.ReferenceService.Tests;

/// <summary>What the service answers to bad input, missing tokens and missing rights: a clear 4xx, never a 500.</summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class InputTests(SharedRedisFixture redis) : IDisposable
{
    private readonly TempDatabase _database = new();

    [Fact]
    public async Task Bad_input_missing_tokens_and_missing_permissions_get_400_401_403_and_404()
    {
        await using var service = ServiceInstance.Start(TestSettings.For(redis.Server, SharedRedisFixture.NewKeyPrefix(), _database));
        string admin = await service.LoginAsync("admin");
        string user = await service.LoginAsync("u3"); // u3 holds r3 only (front desk): no reports:read

        Assert.Equal(HttpStatusCode.BadRequest, await LoginStatusAsync(service, new { userId = "" }));
        Assert.Equal(HttpStatusCode.BadRequest, await LoginStatusAsync(service, new { userId = "u1\n" }));
        Assert.Equal(HttpStatusCode.BadRequest, await LoginStatusAsync(service, new { userId = new string('u', 65) }));
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(service, new { userId = "u1001" }));

        Assert.Equal(HttpStatusCode.Unauthorized, (await service.Client.GetAsync("/reports")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await service.StatusOfAsync("/reports", "not-a-token"));
        Assert.Equal(HttpStatusCode.Unauthorized, await service.StatusOfAsync("/reports", admin[..^2] + (admin[^2..] == "AA" ? "BB" : "AA")));
        Assert.Equal(HttpStatusCode.Forbidden, await service.StatusOfAsync("/reports", user));
        Assert.Equal(HttpStatusCode.OK, await service.StatusOfAsync("/patients", user));

        Assert.Equal(HttpStatusCode.Forbidden, await service.PutAsync("/users/u3/roles", user, ["admin"]));
        Assert.Equal(HttpStatusCode.NotFound, await service.PutAsync("/users/u1001/roles", admin, ["r1"]));
        Assert.Equal(HttpStatusCode.NotFound, await service.PutAsync("/roles/r99/permissions", admin, ["reports:read"]));
        Assert.Equal(HttpStatusCode.BadRequest, await service.PutAsync("/users/u3/roles", admin, ["r1", "r99"]));
        Assert.Equal(HttpStatusCode.BadRequest, await service.PutAsync("/roles/r3/permissions", admin, ["reports:read", "reports:delete"]));
        Assert.Equal(HttpStatusCode.BadRequest, await service.PutAsync("/roles/r3/permissions", admin, ["bad id"]));
        Assert.Equal(HttpStatusCode.BadRequest, await service.PutAsync("/roles/r3/permissions", admin, [.. Enumerable.Repeat("reports:read", 101)]));
        Assert.Equal(HttpStatusCode.BadRequest, await PutRawAsync(service, "/roles/r3/permissions", admin, "{\"not\":\"an array\"}"));

        // None of the refused edits changed anything: u3 still has no reports:read and still has patients:read.
        Assert.Equal(HttpStatusCode.Forbidden, await service.StatusOfAsync("/reports", user));
        Assert.Equal(HttpStatusCode.OK, await service.StatusOfAsync("/patients", user));
        Assert.DoesNotContain("500", (await service.StatsAsync()).Requests.ByStatus.Keys);
    }

    public void Dispose() => _database.Dispose();

    private static async Task<HttpStatusCode> LoginStatusAsync(ServiceInstance service, object body)
    {
        using var response = await service.Client.PostAsJsonAsync("/login", body);
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> PutRawAsync(ServiceInstance service, string path, string token, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent(json, MediaTypeHeaderValue.Parse("application/json")) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await service.Client.SendAsync(request);
        return response.StatusCode;
    }
}
