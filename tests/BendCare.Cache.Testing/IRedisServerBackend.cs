namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>One way of providing a server; <see cref="RedisServer"/> is the public face.</summary>
internal interface IRedisServerBackend : IAsyncDisposable
{
    RedisServerKind Kind { get; }

    string Host { get; }

    int Port { get; }

    string? Password { get; }

    bool CanRestart { get; }

    bool IsRunning { get; }

    /// <summary>Human-readable summary: kind, version, endpoint.</summary>
    string Describe();

    /// <summary>Recent server log lines, for failure messages (empty when not available).</summary>
    string RecentOutput { get; }

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it answers.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops the server abruptly (crash).</summary>
    Task KillAsync();
}
