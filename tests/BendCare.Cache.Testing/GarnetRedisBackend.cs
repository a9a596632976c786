using System.Globalization;
using Garnet;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>
/// An embedded Microsoft Garnet server in this process, bound to loopback with Lua enabled. "Kill" disposes the
/// server (its listener and client sockets close); "restart" creates a new one on the same port. Data does not
/// survive a restart (no checkpoint/AOF), like the binary kind started with <c>--save ""</c>.
/// </summary>
internal sealed class GarnetRedisBackend : IRedisServerBackend
{
    private const int StartAttempts = 5;

    private readonly Lock _lock = new();
    private readonly RedisServerOptions _options;
    private readonly bool _portFixed;
    private readonly ILoggerFactory _loggerFactory;
    private GarnetServer? _server;
    private bool _everStarted;
    private bool _disposed;

    public GarnetRedisBackend(RedisServerOptions options)
    {
        _options = options;
        _portFixed = options.Port is not null;
        Port = options.Port ?? RedisServer.GetFreePort();
        _loggerFactory = LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("ArgParser", LogLevel.Error) // it warns that an external logger factory overrides its log options
            .AddProvider(new StandardErrorLoggerProvider("garnet")));
    }

    public RedisServerKind Kind => RedisServerKind.Garnet;

    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    public string? Password => null;

    public bool CanRestart => true;

    public bool IsRunning
    {
        get
        {
            lock (_lock)
            {
                return _server is not null;
            }
        }
    }

    public string RecentOutput => string.Empty;

    public string Describe() =>
        $"embedded Garnet {typeof(GarnetServer).Assembly.GetName().Version} (Lua on) at {Host}:{Port}";

    /// <summary>Command-line style arguments understood by <c>new GarnetServer(string[])</c>.</summary>
    internal string[] BuildArguments() =>
    [
        "--port", Port.ToString(CultureInfo.InvariantCulture),
        "--bind", "127.0.0.1",
        "--lua", "true",          // nullable-bool options need an explicit value when another option follows
        "-q", "true",             // quiet: no banner
        "--memory", "128m",       // main log memory; the default is sized for production
        "--index", "16m",
    ];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsRunning)
        {
            return;
        }

        var firstStart = !_everStarted;
        for (var attempt = 1; ; attempt++)
        {
            GarnetServer? server = null;
            Exception? failure = null;
            try
            {
                // cleanupDir MUST stay false: with no --logdir (only valid with tiered storage) Garnet's cleanup
                // deletes the contents of the CURRENT directory, i.e. the test output folder. Nothing is written
                // to disk anyway: no storage tier, no AOF, no checkpoints.
                server = new GarnetServer(BuildArguments(), _loggerFactory, cleanupDir: false);
                server.Start();
                lock (_lock)
                {
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    _server = server;
                }

                if (await ServerProbe.WaitUntilAnswersAsync(Host, Port, false, _options.StartTimeout, () => true, cancellationToken))
                {
                    _everStarted = true;
                    return;
                }

                failure = new TimeoutException($"Garnet did not answer PING on {Host}:{Port} within {_options.StartTimeout.TotalSeconds:0}s.");
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not ObjectDisposedException)
            {
                failure = ex;
            }

            lock (_lock)
            {
                if (ReferenceEquals(_server, server))
                {
                    _server = null;
                }
            }

            server?.Dispose(deleteDir: false);
            if (attempt >= StartAttempts)
            {
                throw new InvalidOperationException($"Embedded Garnet could not start on {Host}:{Port} after {attempt} attempts.", failure);
            }

            if (firstStart && !_portFixed)
            {
                Port = RedisServer.GetFreePort();
            }
            else
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
        }
    }

    public Task KillAsync()
    {
        GarnetServer? server;
        lock (_lock)
        {
            server = _server;
            _server = null;
        }

        server?.Dispose(deleteDir: false);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await KillAsync();
        _disposed = true;
        _loggerFactory.Dispose();
    }
}
