// Native AOT smoke app: registers the cache as a service does (REDIS_HOST, REDIS_PORT, ... from the environment),
// reads each cache type twice against the real server and exits 0 when the first read was a miss and a later one a
// hit, 1 otherwise. See the project file for how it is published and run.
using BendCare.Cache;
using BendCare.Cache.Smoke;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

if (MissThenHit.MissingServer() is { } missing)
{
    Console.Error.WriteLine($"FAILED: {missing}");
    return 1;
}

try
{
    var builder = Host.CreateApplicationBuilder(args);
    builder.Services.AddBendCareRedisCache();
    using var host = builder.Build();
    await host.StartAsync();
    using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
    foreach (var line in await MissThenHit.RunAsync(host.Services.GetRequiredService<IRbacCache>(), timeout.Token))
    {
        Console.WriteLine(line);
    }

    await host.StopAsync();
    Console.WriteLine($"OK: native AOT ({(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "no JIT")}), five cache types missed then hit");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"FAILED: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
    return 1;
}
