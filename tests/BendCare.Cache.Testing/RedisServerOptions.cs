namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>How <see cref="RedisServer.StartAsync(RedisServerOptions, CancellationToken)"/> picks and starts a server.</summary>
public sealed record RedisServerOptions
{
    /// <summary>
    /// Extra command-line arguments for the server process (e.g. <c>--requirepass x</c>, <c>--cluster-enabled yes</c>).
    /// They are appended after the defaults, so they win. Only the <see cref="RedisServerKind.Binary"/> kind can
    /// honour them; when any are given, every other kind is skipped.
    /// </summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>Use exactly this kind instead of the fallback chain (the environment variable
    /// <c>BENDCARE_TEST_REDIS_KIND</c> does the same for every server). In CI only External and Binary are allowed.</summary>
    public RedisServerKind? Kind { get; init; }

    /// <summary>Skip the external server: the test needs to kill/restart the server it gets.</summary>
    public bool RequireRestartable { get; init; }

    /// <summary>Binary kind only: serve TLS on <see cref="RedisServer.Port"/> (<c>--port 0 --tls-port N</c>); the
    /// caller adds <c>--tls-cert-file</c>/<c>--tls-key-file</c>/<c>--tls-ca-cert-file</c> via <see cref="ExtraArgs"/>.
    /// Readiness is then a TCP connect instead of PING.</summary>
    public bool Tls { get; init; }

    /// <summary>Listen on this loopback port instead of a free one picked at start (e.g. from
    /// <see cref="RedisServer.GetFreePort"/>, for cluster nodes that must know each other's ports).</summary>
    public int? Port { get; init; }

    /// <summary>How long to wait for a started server to answer.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(20);

    internal bool HasExtraArgs => ExtraArgs.Count > 0 || Tls;
}
