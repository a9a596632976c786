// BendCare.Cache quick start: dotnet run --project samples/BendCare.Cache.QuickStart
// With REDIS_HOST set it uses that server (REDIS_PORT, REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS as in production);
// without it, it starts an embedded Garnet server in this process. Exit code 0 when everything behaved as shown.
// `-- check` instead tests the configured connection (the seed's test-redis-connection; the same command as the
// bendcare-cache tool's `bendcare-cache check`): exit code 0 or 1.
using BendCare.Cache;
using BendCare.Cache.QuickStart;
using BendCare.Cache.Samples;
using BendCare.Cache.Tool;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

const string KeyPrefix = "quickstart:";

if (args.Length > 0)
{
    if (args[0] == "check")
    {
        return await ConnectionCheckCommand.RunAsync();
    }

    Console.Error.WriteLine($"FAILED: unknown argument '{args[0]}' (run with no argument for the demo, or 'check')");
    return 1;
}

EmbeddedGarnet? embeddedServer = null;
try
{
    var services = new ServiceCollection();
    // Information shows the cache's one-line state changes (connecting, Redis unavailable, available again);
    // Debug would add a line per hit and miss.
    services.AddLogging(logging => logging
        .SetMinimumLevel(LogLevel.Information)
        .AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        }));

    var externalHost = Environment.GetEnvironmentVariable("REDIS_HOST");
    if (string.IsNullOrWhiteSpace(externalHost))
    {
        embeddedServer = EmbeddedGarnet.Start();
        Console.WriteLine($"server: embedded Garnet on {embeddedServer.Host}:{embeddedServer.Port} (REDIS_HOST is not set)");
        var server = embeddedServer;
        services.AddBendCareRedisCache(options =>
        {
            options.Host = server.Host;
            options.Port = server.Port;
            options.UseTls = false; // in case REDIS_TLS/USERNAME/PASSWORD linger in the environment without REDIS_HOST
            options.Username = null;
            options.Password = null;
            options.KeyPrefix = KeyPrefix;
        });
    }
    else
    {
        var externalPort = Environment.GetEnvironmentVariable("REDIS_PORT") is { Length: > 0 } port ? port : "6379";
        Console.WriteLine($"server: {externalHost}:{externalPort} (from REDIS_HOST and REDIS_PORT)");
        // As in a service: AddBendCareRedisCache() takes REDIS_* from the configuration's environment variables
        // and everything else from the "BendCareCache" section.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"{BendCareCacheOptions.SectionName}:KeyPrefix"] = KeyPrefix })
            .AddEnvironmentVariables()
            .Build();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddBendCareRedisCache();
    }

    Console.WriteLine($"key prefix: {KeyPrefix}");
    await using (var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }))
    {
        var cache = provider.GetRequiredService<IRbacCache>();
        await new QuickStartDemo(cache, new FakeDatabase(), embeddedServer).RunAsync(CancellationToken.None);
    } // disposing the provider flushes the console logger before the verdict

    Console.WriteLine();
    Console.WriteLine("OK: the demo ran as expected");
    return 0;
}
catch (DemoFailedException e)
{
    Console.Error.WriteLine($"FAILED: {e.Message}");
    return 1;
}
catch (Exception e)
{
    Console.Error.WriteLine($"FAILED: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
    return 1;
}
finally
{
    embeddedServer?.Dispose();
}
