using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.Benchmarks;

/// <summary>
/// The server a benchmark runs against: the one named by <c>REDIS_HOST</c>/<c>REDIS_PORT</c> when set, else a
/// <c>redis-server</c> started (and killed by its own pid) by the shared test infrastructure.
/// </summary>
public sealed class BenchmarkServer : IAsyncDisposable
{
    private readonly RedisServer? _owned;

    private BenchmarkServer(string host, int port, RedisServer? owned)
    {
        Host = host;
        Port = port;
        _owned = owned;
    }

    public string Host { get; }

    public int Port { get; }

    /// <summary>Whether this process started (and owns) the server.</summary>
    public bool IsOwned => _owned is not null;

    public static async Task<BenchmarkServer> StartOrUseEnvironmentAsync()
    {
        string? host = Environment.GetEnvironmentVariable("REDIS_HOST");
        if (!string.IsNullOrWhiteSpace(host))
        {
            string? portText = Environment.GetEnvironmentVariable("REDIS_PORT");
            int port = string.IsNullOrWhiteSpace(portText) ? 6379 : int.Parse(portText, CultureInfo.InvariantCulture);
            return new BenchmarkServer(host, port, null);
        }

        var server = await RedisServer.StartAsync(new RedisServerOptions { Kind = RedisServerKind.Binary });
        return new BenchmarkServer(server.Host, server.Port, server);
    }

    public ValueTask DisposeAsync() => _owned?.DisposeAsync() ?? ValueTask.CompletedTask;
}
