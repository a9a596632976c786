using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using BendCare.Cache.LoadDriver.Measuring;

namespace BendCare.Cache.LoadDriver.Traffic;

/// <summary>The reference service's HTTP API as its clients use it (routes and bodies of its README).</summary>
internal sealed class ServiceApi(HttpClient http)
{
    private static readonly Uri Login = new("login", UriKind.Relative);
    private static readonly Uri Logout = new("logout", UriKind.Relative);
    private static readonly Uri Stats = new("stats", UriKind.Relative);
    private static readonly Uri Metrics = new("metrics", UriKind.Relative);

    /// <summary><c>POST /login {"userId"}</c>: the token on 200, else the status alone.</summary>
    public async Task<(HttpStatusCode Status, string? Token, DateTimeOffset ExpiresAt)> LoginAsync(string userId, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(Login, new LoginRequest(userId), cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return (response.StatusCode, null, default);
        }

        var body = await response.Content.ReadFromJsonAsync<LoginResponse>(cancellationToken);
        return (response.StatusCode, body?.Token, body?.ExpiresAt ?? default);
    }

    public Task<HttpStatusCode> GetAsync(string path, string token, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, new Uri(path, UriKind.Relative), token, null, cancellationToken);

    public Task<HttpStatusCode> LogoutAsync(string token, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, Logout, token, null, cancellationToken);

    /// <summary><c>PUT</c> of a JSON array (an admin edit).</summary>
    public Task<HttpStatusCode> PutAsync(string path, string token, IEnumerable<string> items, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, new Uri(path, UriKind.Relative), token, JsonContent.Create(items.ToArray()), cancellationToken);

    public async Task<StatsDocument> StatsAsync(CancellationToken cancellationToken) =>
        await http.GetFromJsonAsync<StatsDocument>(Stats, cancellationToken) ?? throw new InvalidOperationException("/stats answered null.");

    /// <summary>The Prometheus text of <c>/metrics</c> (the library's meter).</summary>
    public Task<string> MetricsAsync(CancellationToken cancellationToken) => http.GetStringAsync(Metrics, cancellationToken);

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, Uri path, string token, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, cancellationToken);
        return response.StatusCode;
    }

    private sealed record LoginRequest(string UserId);

    private sealed record LoginResponse(string Token, DateTimeOffset ExpiresAt);
}
