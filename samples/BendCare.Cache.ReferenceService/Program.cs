// BendCare.Cache reference service: dotnet run --project samples/BendCare.Cache.ReferenceService
// A minimal API on SQLite that authorises every request through IRbacCache. Without REDIS_HOST it starts an embedded
// Garnet server; with it, it uses that server (REDIS_PORT, REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS); BENDCARE_CACHE=off
// (or --cache off) disables the cache as an unset REDIS_HOST does in production. See README.md beside this file.
using BendCare.Cache.ReferenceService;
using BendCare.Cache.ReferenceService.Auth;
using BendCare.Cache.ReferenceService.Database;
using BendCare.Cache.ReferenceService.Endpoints;
using BendCare.Cache.ReferenceService.Operations;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OpenTelemetry.Metrics;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--cache"] = CacheSetup.SwitchKey });
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5080");
}

var mode = builder.AddRbacCache();
builder.Services.AddSingleton<QueryLog>();
builder.Services.AddSingleton(sp => new RbacDatabase(sp.GetRequiredService<IConfiguration>()["Database:Path"], sp.GetRequiredService<QueryLog>()));
builder.Services.AddSingleton<ServiceStats>();
builder.Services.AddBearerTokens(TokenSettings.From(builder.Configuration));
builder.Services.AddProblemDetails();
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(ServiceStats.CacheMeterName).AddPrometheusExporter());

var app = builder.Build();
var database = app.Services.GetRequiredService<RbacDatabase>();
bool seeded = database.EnsureCreatedAndSeeded();

app.UseRequestCounting();
app.UseAuthentication();
app.UseAuthorization();
app.MapApi();
app.MapOperations();
app.MapPrometheusScrapingEndpoint();

app.Lifetime.ApplicationStarted.Register(() =>
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
    Console.WriteLine($"BendCare reference service on {string.Join(", ", addresses)}  (live page /, stats /stats, health /health)");
    Console.WriteLine($"  cache: {mode.Describe(app.Services)}");
    Console.WriteLine($"  database: {database.Path} ({(seeded ? "created and seeded" : "already seeded")})");
});

app.Run();

/// <summary>The entry point, public so that tests can host the service with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
