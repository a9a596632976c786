using BendCare.Cache.Connection;
using Microsoft.Extensions.Hosting;

namespace BendCare.Cache.DependencyInjection;

/// <summary>
/// Starts the connection when the host starts, so it is up (or known to be down) before the first request; resolving it
/// also runs the options' start-up validation there. Without a host, the first resolve of the cache starts it.
/// </summary>
internal sealed class BendCareCacheStartup : IHostedService
{
    // Taking the connection is what starts it: its constructor begins the background connect.
    public BendCareCacheStartup(RedisConnection connection) => _ = connection;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
