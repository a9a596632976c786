using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace BendCare.Cache.ReferenceService.Tests.Support;

/// <summary>The service's HTTP API as a client sees it: the documented routes, bodies and the <c>/stats</c> document.</summary>
public static class ServiceApi
{
    public static async Task<string> LoginAsync(this ServiceInstance service, string userId)
    {
        using var response = await service.Client.PostAsJsonAsync("/login", new { userId });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<LoginBody>();
        Assert.False(string.IsNullOrEmpty(body?.Token));
        return body!.Token;
    }

    public static async Task<HttpResponseMessage> GetAsync(this ServiceInstance service, string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await service.Client.SendAsync(request);
    }

    public static async Task<HttpStatusCode> StatusOfAsync(this ServiceInstance service, string path, string token)
    {
        using var response = await service.GetAsync(path, token);
        return response.StatusCode;
    }

    public static async Task<HttpStatusCode> PutAsync(this ServiceInstance service, string path, string token, string[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await service.Client.SendAsync(request);
        return response.StatusCode;
    }

    public static async Task<HttpStatusCode> LogoutAsync(this ServiceInstance service, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/logout");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await service.Client.SendAsync(request);
        return response.StatusCode;
    }

    public static async Task<StatsDocument> StatsAsync(this ServiceInstance service)
    {
        var stats = await service.Client.GetFromJsonAsync<StatsDocument>("/stats");
        Assert.NotNull(stats);
        return stats;
    }

    /// <summary>Status and document of <c>/health</c>.</summary>
    public static async Task<(HttpStatusCode Code, string Status, string Body)> HealthAsync(this ServiceInstance service)
    {
        using var response = await service.Client.GetAsync("/health");
        string body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        return (response.StatusCode, document.RootElement.GetProperty("status").GetString()!, body);
    }

    /// <summary>One request and the database queries it caused (read from <c>/stats</c> before and after; the tests send one request at a time).</summary>
    public static async Task<(HttpStatusCode Status, long Queries)> GetCountingQueriesAsync(this ServiceInstance service, string path, string token)
    {
        long before = (await service.StatsAsync()).Database.Queries;
        var status = await service.StatusOfAsync(path, token);
        long after = (await service.StatsAsync()).Database.Queries;
        return (status, after - before);
    }

    /// <summary>
    /// Repeats a request until it answers <paramref name="expected"/> without a database query, i.e. from the cache.
    /// A miss writes back in the background, so the first repeat may still query; the deadline is generous.
    /// </summary>
    public static async Task ServeFromCacheAsync(this ServiceInstance service, string path, string token, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        var last = (Status: (HttpStatusCode)0, Queries: -1L);
        while (DateTime.UtcNow < deadline)
        {
            last = await service.GetCountingQueriesAsync(path, token);
            Assert.Equal(expected, last.Status);
            if (last.Queries == 0)
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"GET {path} still made {last.Queries} database queries per request after 15 s: it is not served from the cache.");
    }

    /// <summary>The <c>jti</c> claim of a token (read from its payload, as any client can).</summary>
    public static string TokenId(string token)
    {
        string payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
        using var document = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload)));
        return document.RootElement.GetProperty("jti").GetString()!;
    }

    private sealed record LoginBody(string Token, DateTimeOffset ExpiresAt);
}

/// <summary>The <c>/stats</c> document.</summary>
public sealed record StatsDocument(
    DateTimeOffset Timestamp,
    string CacheMode,
    RequestsDocument Requests,
    DatabaseDocument Database,
    Dictionary<string, CacheTypeDocument> CacheTypes)
{
    public long Hits => CacheTypes.Values.Sum(c => c.Hits);
}

public sealed record RequestsDocument(long Total, Dictionary<string, long> ByStatus);

public sealed record DatabaseDocument(long Queries, Dictionary<string, long> ByName);

public sealed record CacheTypeDocument(long Hits, long Misses, long LoaderCalls);
