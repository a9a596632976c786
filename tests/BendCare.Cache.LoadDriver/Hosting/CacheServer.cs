using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.LoadDriver.Hosting;

/// <summary>
/// The Redis the service uses in a cache-on run: a <c>redis-server</c> from PATH that the driver starts on a free
/// loopback port (and can kill -9 and start again on the same port), or a given one (<c>--redis host:port[,password=..]</c>).
/// Each run gets a key prefix of its own, so a given server's other keys are never read.
/// </summary>
internal sealed class CacheServer : IAsyncDisposable
{
    private readonly RedisServer? _own;

    private CacheServer(RedisServer? own, string host, int port, string? password)
    {
        _own = own;
        Host = host;
        Port = port;
        Password = password;
    }

    public string Host { get; }

    public int Port { get; }

    public string? Password { get; }

    /// <summary><c>bcos:load:{guid}:</c>, new for each server object.</summary>
    public string KeyPrefix { get; } = $"bcos:load:{Guid.NewGuid():N}:";

    /// <summary>True when the driver started it (and so may kill it).</summary>
    public bool IsOwn => _own is not null;

    /// <summary>Starts a <c>redis-server</c> (or <c>valkey-server</c>) from PATH on a free loopback port.</summary>
    public static async Task<CacheServer> StartOwnAsync(CancellationToken cancellationToken)
    {
        var server = await RedisServer.StartAsync(new RedisServerOptions { Kind = RedisServerKind.Binary }, cancellationToken);
        return new CacheServer(server, server.Host, server.Port, server.Password);
    }

    /// <summary>Uses the server at <paramref name="endpoint"/> (<c>host:port[,password=..]</c>); the driver never stops it.</summary>
    public static CacheServer Given(string endpoint)
    {
        string[] parts = endpoint.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string? password = parts.Skip(1).FirstOrDefault(p => p.StartsWith("password=", StringComparison.Ordinal))?["password=".Length..];
        int colon = parts.Length > 0 ? parts[0].LastIndexOf(':') : -1;
        if (colon <= 0 || !int.TryParse(parts[0][(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"--redis takes host:port[,password=...]; got '{endpoint}'.", nameof(endpoint));
        }

        return new CacheServer(null, parts[0][..colon], port, password);
    }

    /// <summary>kill -9 of the server process the driver started.</summary>
    public Task KillAsync() => Own.KillAsync();

    /// <summary>Starts the driver's server again on the same port (empty: nothing survives a kill -9 without persistence).</summary>
    public Task RestartAsync(CancellationToken cancellationToken) => Own.RestartAsync(cancellationToken);

    public override string ToString() => _own?.ToString() ?? $"given server {Host}:{Port}";

    public async ValueTask DisposeAsync()
    {
        if (_own is not null)
        {
            await _own.DisposeAsync();
        }
    }

    private RedisServer Own => _own ?? throw new InvalidOperationException("Only a server the driver started can be killed and restarted: run without --redis.");
}
