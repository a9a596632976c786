using System.Net;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.ReferenceService.Tests.Support;

/// <summary>
/// One instance of the reference service hosted in this process, configured only as an operator would configure it
/// (settings: <c>REDIS_*</c>, <c>BendCareCache:*</c>, <c>Database:Path</c>, <c>BENDCARE_CACHE</c>) and used only
/// through HTTP. Two instances given one Redis and one database file are two replicas of one service.
/// </summary>
public sealed class ServiceInstance : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;

    private ServiceInstance(WebApplicationFactory<Program> factory, CapturedLogs logs, Uri? address)
    {
        _factory = factory;
        Logs = logs;
        Address = address;
        Client = factory.CreateClient();
        Client.Timeout = TimeSpan.FromSeconds(30);
    }

    public HttpClient Client { get; }

    /// <summary>Everything the instance logged.</summary>
    public CapturedLogs Logs { get; }

    /// <summary>The real loopback address when started with Kestrel, else <see langword="null"/> (in-memory server).</summary>
    public Uri? Address { get; }

    /// <summary>Starts an instance; with <paramref name="kestrel"/> it listens on a free 127.0.0.1 port.</summary>
    public static ServiceInstance Start(ServiceSettings settings, bool kestrel = false)
    {
        var logs = new CapturedLogs();
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            foreach (var (key, value) in settings.ToConfiguration())
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureLogging(logging => logging.ClearProviders().SetMinimumLevel(LogLevel.Information).AddProvider(logs));
        });

        Uri? address = null;
        if (kestrel)
        {
            factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
            factory.StartServer();
            string listening = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            address = new Uri(listening);
        }

        return new ServiceInstance(factory, logs, address);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
    }
}

/// <summary>How an instance is configured: the settings a deployment would give it.</summary>
public sealed record ServiceSettings
{
    /// <summary>Redis host (<c>REDIS_HOST</c>); empty means the service's own choice (embedded Garnet).</summary>
    public string RedisHost { get; init; } = "";

    public int RedisPort { get; init; } = 6379;

    public string? RedisPassword { get; init; }

    /// <summary>A key prefix of the test's own, so tests sharing one server do not see each other's keys.</summary>
    public required string KeyPrefix { get; init; }

    /// <summary>The SQLite file; replicas share one.</summary>
    public required string DatabasePath { get; init; }

    /// <summary><c>BENDCARE_CACHE</c>: <c>on</c> or <c>off</c>.</summary>
    public string Cache { get; init; } = "on";

    public IEnumerable<KeyValuePair<string, string?>> ToConfiguration() =>
    [
        new("REDIS_HOST", RedisHost),
        new("REDIS_PORT", RedisPort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("REDIS_PASSWORD", RedisPassword ?? ""),
        new("BENDCARE_CACHE", Cache),
        new("BendCareCache:KeyPrefix", KeyPrefix),
        // The tests share two cores with other builds: a busy moment must not turn a hit into a miss. (The library's
        // own outage tests cover the 150 ms default.)
        new("BendCareCache:OperationTimeout", "00:00:01"),
        new("Database:Path", DatabasePath),
    ];
}
