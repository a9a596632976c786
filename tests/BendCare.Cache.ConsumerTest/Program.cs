// A service consuming the BendCare.Cache package: registers it as the README says, starts the host, and against the
// real server named by REDIS_HOST/REDIS_PORT reads each cache type twice (a miss, then a hit), runs the README's and
// the API contract's snippets, and asks the health endpoint. Exit code 0 when all of it behaved, 1 otherwise.
using BendCare.Cache;
using BendCare.Cache.Smoke;
using ConsumerTest;
using ConsumerTest.PackageReadme;
using ConsumerTest.Readme;
using Microsoft.Extensions.Options;

if (MissThenHit.MissingServer() is { } missing)
{
    Console.Error.WriteLine($"FAILED: {missing}");
    return 1;
}

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.AddBendCareRedisCache();
    builder.Services.AddHealthChecks().AddBendCareRedisCache();
    await using var app = builder.Build();
    app.MapHealthChecks("/health");
    await app.StartAsync();

    using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
    var ct = timeout.Token;
    var cache = app.Services.GetRequiredService<IRbacCache>();
    foreach (var line in await MissThenHit.RunAsync(cache, ct))
    {
        Console.WriteLine(line);
    }

    var snippets = new SnippetContext(WebApplication.CreateBuilder(), app.Configuration, cache, new CountingUserRepository(), ct);
    await ReadmeSnippets.RunAllAsync(snippets);
    await PackageReadmeSnippets.RunAllAsync(snippets);
    Console.WriteLine("README.md and PACKAGE.md snippets: ran");
    await ApiContractSnippets.Members(cache, ct);
    Console.WriteLine("API contract members: ran");
    string check = await ApiContractSnippets.ConnectionCheck(app.Services.GetRequiredService<IOptions<BendCareCacheOptions>>().Value, ct);
    if (!check.Contains("\nOK: ", StringComparison.Ordinal))
    {
        throw new InvalidOperationException($"the connection check did not say OK:\n{check}");
    }

    Console.WriteLine("connection check (library API): OK");
    using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
    string health = await http.GetStringAsync(new Uri("/health", UriKind.Relative), ct);
    if (health != "Healthy")
    {
        throw new InvalidOperationException($"/health answered '{health}', expected 'Healthy' with the server up");
    }

    Console.WriteLine("health endpoint: Healthy");
    await app.StopAsync(ct);
    Console.WriteLine("OK: the package works as a consumer uses it");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"FAILED: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
    return 1;
}
