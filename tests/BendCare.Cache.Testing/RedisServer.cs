using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>
/// A real Redis-compatible server for integration tests. <see cref="StartAsync(RedisServerOptions, CancellationToken)"/>
/// tries, in order: the endpoint in <c>BENDCARE_TEST_REDIS</c>; Testcontainers.Redis when a Docker engine answers;
/// a <c>redis-server</c>/<c>valkey-server</c> on PATH; an embedded Garnet server. With <c>CI=true</c> only the
/// external endpoint and the binary are allowed, and not getting one of them throws (the test fails, never skips).
/// Each choice is written to standard error and kept in <see cref="Description"/> / <see cref="StartLog"/>.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    /// <summary>Environment variable naming an external server: <c>host:port[,password=..]</c>.</summary>
    public const string EndpointVariable = "BENDCARE_TEST_REDIS";

    /// <summary>Environment variable forcing one kind (<c>External</c>, <c>Container</c>, <c>Binary</c>, <c>Garnet</c>).</summary>
    public const string KindVariable = "BENDCARE_TEST_REDIS_KIND";

    private static readonly RedisServerKind[] Chain =
        [RedisServerKind.External, RedisServerKind.Container, RedisServerKind.Binary, RedisServerKind.Garnet];

    private static readonly ConcurrentQueue<string> Log = new();
    private static readonly ConcurrentDictionary<int, byte> HandedOutPorts = new();
    private static string? _description;

    private readonly IRedisServerBackend _backend;
    private readonly RedisServerOptions _options;
    private readonly SemaphoreSlim _control = new(1, 1);
    private int _disposed;

    private RedisServer(IRedisServerBackend backend, RedisServerOptions options)
    {
        _backend = backend;
        _options = options;
    }

    /// <summary>What the most recently started server is (kind, version, endpoint, why it was chosen).</summary>
    public static string? Description => Volatile.Read(ref _description);

    /// <summary>Every selection decision made in this process, oldest first.</summary>
    public static IReadOnlyList<string> StartLog => [.. Log];

    /// <summary>True when the environment variable <c>CI</c> is <c>true</c>.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The kind that was used.</summary>
    public RedisServerKind Kind => _backend.Kind;

    /// <summary>Host to connect to (<c>127.0.0.1</c> except for an external server).</summary>
    public string Host => _backend.Host;

    /// <summary>Port to connect to; stays the same across <see cref="RestartAsync"/>.</summary>
    public int Port => _backend.Port;

    /// <summary>The server password (from <c>BENDCARE_TEST_REDIS</c> or a <c>--requirepass</c> extra argument), or null.</summary>
    public string? Password => _backend.Password;

    /// <summary>True when started with <see cref="RedisServerOptions.Tls"/>.</summary>
    public bool IsTls => _options.Tls;

    /// <summary><c>host:port</c> without options.</summary>
    public string EndPointText => $"{Host}:{Port}";

    /// <summary>
    /// StackExchange.Redis connection string: <c>127.0.0.1:port</c>, plus <c>,password=..</c> when the server has one.
    /// (TLS servers need <c>ssl=true</c> and certificate validation set by the caller.)
    /// </summary>
    public string ConnectionString => Password is null ? EndPointText : $"{EndPointText},password={Password}";

    /// <summary>False for the external server: <see cref="KillAsync"/> and <see cref="RestartAsync"/> throw.</summary>
    public bool CanRestart => _backend.CanRestart;

    /// <summary>True while the server process/instance is up (always true for the external server).</summary>
    public bool IsRunning => _backend.IsRunning;

    /// <summary>Last lines the server printed (binary kind only), for assertion messages.</summary>
    public string RecentOutput => _backend.RecentOutput;

    /// <summary>Starts a server through the fallback chain, optionally with extra server arguments (binary kind only).</summary>
    public static Task<RedisServer> StartAsync(IEnumerable<string>? extraArgs = null, CancellationToken cancellationToken = default) =>
        StartAsync(new RedisServerOptions { ExtraArgs = extraArgs?.ToArray() ?? [] }, cancellationToken);

    /// <summary>Starts a server as described by <paramref name="options"/>.</summary>
    public static async Task<RedisServer> StartAsync(RedisServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var server = await ResolveAsync(options, start: true, cancellationToken);
        return server;
    }

    /// <summary>
    /// Picks a restartable kind (binary, else Garnet outside CI) and a free port but does NOT start it, so the port
    /// refuses connections until <see cref="RestartAsync"/> is called ("Redis never started / comes up later" tests).
    /// </summary>
    public static async Task<RedisServer> CreateStoppedAsync(RedisServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new RedisServerOptions();
        return await ResolveAsync(options with { RequireRestartable = true }, start: false, cancellationToken);
    }

    /// <summary>
    /// A loopback port on which nothing listens right now (bound to port 0 and released). Not handed out twice by
    /// this process.
    /// </summary>
    public static int GetFreePort()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (HandedOutPorts.TryAdd(port, 0) || attempt >= 20)
            {
                return port;
            }
        }
    }

    /// <summary>Simulates a crash: kill -9 of the server process (binary), dispose (Garnet), stop (container).</summary>
    public async Task KillAsync()
    {
        ThrowIfNotRestartable();
        await _control.WaitAsync();
        try
        {
            var description = _backend.Describe();
            await _backend.KillAsync();
            Write($"killed {description}");
        }
        finally
        {
            _control.Release();
        }
    }

    /// <summary>Starts the server again on the same port (killing it first if it is running); also starts a server
    /// made by <see cref="CreateStoppedAsync"/>. Data does not survive.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotRestartable();
        await _control.WaitAsync(cancellationToken);
        try
        {
            if (_backend.IsRunning)
            {
                await _backend.KillAsync();
            }

            await _backend.StartAsync(cancellationToken);
            Write($"(re)started {_backend.Describe()}");
        }
        finally
        {
            _control.Release();
        }
    }

    /// <summary>FLUSHALL through a short-lived admin connection.</summary>
    public async Task FlushAllAsync()
    {
        await using var connection = await ConnectAdminAsync();
        foreach (var endPoint in connection.GetEndPoints())
        {
            await connection.GetServer(endPoint).FlushAllDatabasesAsync();
        }
    }

    /// <summary>
    /// A separate connection with <c>allowAdmin=true</c> for assertions (TTL, TYPE, INFO, CONFIG, FLUSHALL). Fails fast
    /// when the server is down. The caller disposes it.
    /// </summary>
    public async Task<IConnectionMultiplexer> ConnectAdminAsync(Action<ConfigurationOptions>? configure = null)
    {
        var options = CreateConfiguration();
        options.AllowAdmin = true;
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 2;
        options.ClientName = "bendcare-tests-admin";
        configure?.Invoke(options);
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    /// <summary>
    /// Client options for this server, or for <paramref name="via"/> (e.g. a <see cref="TcpFaultProxy.EndPoint"/>)
    /// with this server's password: AbortOnConnectFail=false, 5 s connect/sync/async timeouts.
    /// </summary>
    public ConfigurationOptions CreateConfiguration(EndPoint? via = null)
    {
        var options = new ConfigurationOptions
        {
            Password = Password,
            Ssl = IsTls,
            AbortOnConnectFail = false,
            ConnectTimeout = 5000,
            SyncTimeout = 5000,
            AsyncTimeout = 5000,
        };
        if (via is null)
        {
            options.EndPoints.Add(Host, Port);
        }
        else
        {
            options.EndPoints.Add(via);
        }

        return options;
    }

    /// <summary>Stops the server (binary: kills its own process and deletes its temp dir).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _control.WaitAsync();
        try
        {
            await _backend.DisposeAsync();
        }
        finally
        {
            _control.Release();
            _control.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Kind}: {_backend.Describe()}";

    private static async Task<RedisServer> ResolveAsync(RedisServerOptions options, bool start, CancellationToken cancellationToken)
    {
        var ci = IsCi;
        // Extra args only work with the binary, so the environment's preferred kind does not apply to them.
        var forced = options.Kind ?? (options.HasExtraArgs ? null : ForcedKindFromEnvironment());
        RedisServerKind[] kinds = forced is { } only ? [only] : Chain;
        var notes = new List<string>();

        foreach (var kind in kinds)
        {
            if (ci && kind is RedisServerKind.Container or RedisServerKind.Garnet)
            {
                notes.Add($"{kind}: not allowed in CI");
                continue;
            }

            IRedisServerBackend? backend;
            try
            {
                backend = await CreateBackendAsync(kind, options, start, notes, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                notes.Add($"{kind}: failed: {ex.Message}");
                if (kind == RedisServerKind.External || forced is not null)
                {
                    // An explicitly configured server that does not work is an error, not a reason to fall through.
                    throw new InvalidOperationException($"Could not use the requested {kind} server. {string.Join(" | ", notes)}", ex);
                }

                continue;
            }

            if (backend is null)
            {
                continue;
            }

            var server = new RedisServer(backend, options);
            var skipped = notes.Count == 0 ? string.Empty : $" (skipped: {string.Join(" | ", notes)})";
            var description = $"{(start ? "started" : "prepared (not started)")} {server}{(ci ? " [CI]" : string.Empty)}{skipped}";
            Volatile.Write(ref _description, description);
            Write(description);
            return server;
        }

        var message = $"No Redis-compatible server available{(ci ? " in CI (only External or Binary allowed)" : string.Empty)}: {string.Join(" | ", notes)}";
        Write(message);
        throw new InvalidOperationException(message);
    }

    private static async Task<IRedisServerBackend?> CreateBackendAsync(
        RedisServerKind kind,
        RedisServerOptions options,
        bool start,
        List<string> notes,
        CancellationToken cancellationToken)
    {
        IRedisServerBackend backend;
        switch (kind)
        {
            case RedisServerKind.External:
                var endpoint = Environment.GetEnvironmentVariable(EndpointVariable);
                if (string.IsNullOrWhiteSpace(endpoint))
                {
                    notes.Add($"External: {EndpointVariable} not set");
                    return null;
                }

                if (options.HasExtraArgs || options.RequireRestartable || !start)
                {
                    notes.Add("External: cannot take extra args / be restarted");
                    return null;
                }

                backend = ExternalRedisBackend.Parse(endpoint);
                break;

            case RedisServerKind.Container:
                if (options.HasExtraArgs)
                {
                    notes.Add("Container: extra args need the binary");
                    return null;
                }

                var (available, detail) = await DockerProbe.ProbeAsync(cancellationToken);
                if (!available)
                {
                    notes.Add($"Container: {detail}");
                    return null;
                }

                backend = new ContainerRedisBackend(options);
                break;

            case RedisServerKind.Binary:
                var binary = BinaryRedisBackend.FindBinary();
                if (binary is null)
                {
                    notes.Add("Binary: no redis-server or valkey-server on PATH");
                    return null;
                }

                backend = new BinaryRedisBackend(binary, options);
                break;

            case RedisServerKind.Garnet:
#if NET10_0_OR_GREATER
                if (options.HasExtraArgs)
                {
                    notes.Add("Garnet: extra args need the binary");
                    return null;
                }

                backend = new GarnetRedisBackend(options);
                break;
#else
                notes.Add("Garnet: not on .NET 8 (Microsoft.Garnet targets .NET 10 only)");
                return null;
#endif

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        if (!start)
        {
            return backend;
        }

        try
        {
            await backend.StartAsync(cancellationToken);
            return backend;
        }
        catch
        {
            await backend.DisposeAsync();
            throw;
        }
    }

    private static RedisServerKind? ForcedKindFromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(KindVariable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return Enum.TryParse<RedisServerKind>(value, ignoreCase: true, out var kind)
            ? kind
            : throw new InvalidOperationException($"{KindVariable}='{value}' is not one of {string.Join(", ", Enum.GetNames<RedisServerKind>())}.");
    }

    private static void Write(string message)
    {
        var line = $"[RedisServer] {message}";
        Log.Enqueue(line);
        Console.Error.WriteLine(line);
    }

    private void ThrowIfNotRestartable()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!CanRestart)
        {
            throw new NotSupportedException($"The {Kind} server cannot be killed or restarted.");
        }
    }
}
