using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.OutageBenchmarks;

/// <summary>
/// One fault, set up fresh for each measured client instance. From-start faults are in place when
/// <see cref="PrepareAsync"/> returns (the client is created into them); the others are injected once the client is
/// connected and serving hits. <see cref="RemoveAsync"/> returns the timestamp recovery is measured from.
/// </summary>
internal abstract class Fault : IAsyncDisposable
{
    public const string ServerPassword = "server-secret";
    public const string ClientPassword = "client-secret";

    public static readonly IReadOnlyList<(string Name, string Description, Func<RedisServer, Fault> Create)> All =
    [
        ("healthy", "no fault (reference)", s => new Healthy(s)),
        ("refused", "nothing listening from the start (proxy not listening)", s => new Refused(s)),
        ("blackhole-start", "blackhole from the start (TCP accepted, nothing answered)", s => new BlackholeFromStart(s)),
        ("blackhole-connected", "blackhole after being connected", s => new BlackholeAfterConnected(s)),
        ("delay", "latency above the operation timeout (proxy delays each chunk 400 ms)", s => new Latency(s)),
        ("reset", "connection reset mid-traffic (proxy Reset + DropAll)", s => new ResetMidTraffic(s)),
        ("kill", "server process killed (kill -9), then restarted", s => new KilledServer()),
        ("password", "wrong password (server --requirepass), fixed by CONFIG SET requirepass", s => new WrongPassword()),
        ("tls", "TLS client against a plain server", s => new TlsAgainstPlain(s)),
    ];

    public abstract bool FromStart { get; }

    public virtual bool Removable => true;

    /// <summary>What removing the fault means, for the report.</summary>
    public abstract string Removal { get; }

    public abstract Task<Endpoint> PrepareAsync();

    public virtual Task InjectAsync() => Task.CompletedTask;

    public virtual Task<long> RemoveAsync() => Task.FromResult(Stopwatch.GetTimestamp());

    public ValueTask DisposeAsync() => CleanUpAsync();

    protected virtual ValueTask CleanUpAsync() => ValueTask.CompletedTask;

    /// <summary>Polls host:port with TCP connects until one succeeds; returns when (the "server accepts connections" moment).</summary>
    protected static async Task<long> FirstAcceptAsync(int port, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
                return Stopwatch.GetTimestamp();
            }
            catch (SocketException)
            {
                await Task.Delay(1, cancellationToken);
            }
        }
    }

    private sealed class Healthy(RedisServer server) : Fault
    {
        public override bool FromStart => false;

        public override bool Removable => false;

        public override string Removal => "-";

        public override Task<Endpoint> PrepareAsync() => Task.FromResult(new Endpoint(server.Host, server.Port, null, false));
    }

    /// <summary>Base of the faults made with a <see cref="TcpFaultProxy"/> in front of the shared server.</summary>
    private abstract class ProxyFault(RedisServer server) : Fault
    {
        protected TcpFaultProxy Proxy { get; private set; } = null!;

        public override Task<Endpoint> PrepareAsync()
        {
            Proxy = new TcpFaultProxy(server.Host, server.Port);
            Setup();
            return Task.FromResult(new Endpoint("127.0.0.1", Proxy.Port, null, false));
        }

        protected virtual void Setup()
        {
        }

        protected override async ValueTask CleanUpAsync()
        {
            if (Proxy is not null)
            {
                await Proxy.DisposeAsync();
            }
        }
    }

    private sealed class Refused(RedisServer server) : ProxyFault(server)
    {
        public override bool FromStart => true;

        public override string Removal => "proxy.Start() (listening again)";

        protected override void Setup() => Proxy.Refuse();

        public override Task<long> RemoveAsync()
        {
            Proxy.Start();
            return Task.FromResult(Stopwatch.GetTimestamp());
        }
    }

    private sealed class BlackholeFromStart(RedisServer server) : ProxyFault(server)
    {
        public override bool FromStart => true;

        public override string Removal => "proxy.Pass() + DropAll()";

        protected override void Setup() => Proxy.Blackhole();

        public override Task<long> RemoveAsync()
        {
            Proxy.Pass();
            Proxy.DropAll();
            return Task.FromResult(Stopwatch.GetTimestamp());
        }
    }

    private sealed class BlackholeAfterConnected(RedisServer server) : ProxyFault(server)
    {
        public override bool FromStart => false;

        public override string Removal => "proxy.Pass() + DropAll()";

        public override Task InjectAsync()
        {
            Proxy.Blackhole();
            return Task.CompletedTask;
        }

        public override Task<long> RemoveAsync()
        {
            Proxy.Pass();
            Proxy.DropAll();
            return Task.FromResult(Stopwatch.GetTimestamp());
        }
    }

    private sealed class Latency(RedisServer server) : ProxyFault(server)
    {
        public override bool FromStart => false;

        public override string Removal => "proxy.Pass() (connection kept)";

        public override Task InjectAsync()
        {
            Proxy.Delay(TimeSpan.FromMilliseconds(400));
            return Task.CompletedTask;
        }

        public override Task<long> RemoveAsync()
        {
            Proxy.Pass();
            return Task.FromResult(Stopwatch.GetTimestamp());
        }
    }

    private sealed class ResetMidTraffic(RedisServer server) : ProxyFault(server)
    {
        public override bool FromStart => false;

        public override string Removal => "proxy.Pass() (new connections accepted)";

        public override Task InjectAsync()
        {
            Proxy.Reset();
            Proxy.DropAll();
            return Task.CompletedTask;
        }

        public override Task<long> RemoveAsync()
        {
            Proxy.Pass();
            return Task.FromResult(Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Its own redis-server process, killed with -9 and restarted on the same port by the harness.</summary>
    private sealed class KilledServer : Fault
    {
        private RedisServer? _server;

        public override bool FromStart => false;

        public override string Removal => "server restarted (measured from the first accepted TCP connect)";

        public override async Task<Endpoint> PrepareAsync()
        {
            _server = await RedisServer.StartAsync(new RedisServerOptions { Kind = RedisServerKind.Binary, RequireRestartable = true });
            return new Endpoint(_server.Host, _server.Port, null, false);
        }

        public override Task InjectAsync() => _server!.KillAsync();

        public override async Task<long> RemoveAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var accepted = FirstAcceptAsync(_server!.Port, cts.Token);
            await _server.RestartAsync(cts.Token);
            return await accepted;
        }

        protected override async ValueTask CleanUpAsync()
        {
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }
    }

    /// <summary>Its own redis-server with --requirepass; the client uses another password until CONFIG SET makes it right.</summary>
    private sealed class WrongPassword : Fault
    {
        private RedisServer? _server;

        public override bool FromStart => true;

        public override string Removal => "CONFIG SET requirepass <client's password>";

        public override async Task<Endpoint> PrepareAsync()
        {
            _server = await RedisServer.StartAsync(new RedisServerOptions { Kind = RedisServerKind.Binary, ExtraArgs = ["--requirepass", ServerPassword] });
            return new Endpoint(_server.Host, _server.Port, ClientPassword, false);
        }

        public override async Task<long> RemoveAsync()
        {
            await using var admin = await _server!.ConnectAdminAsync();
            await admin.GetServer(admin.GetEndPoints()[0]).ConfigSetAsync("requirepass", ClientPassword);
            return Stopwatch.GetTimestamp();
        }

        protected override async ValueTask CleanUpAsync()
        {
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }
    }

    /// <summary>A configuration error: nothing to remove.</summary>
    private sealed class TlsAgainstPlain(RedisServer server) : Fault
    {
        public override bool FromStart => true;

        public override bool Removable => false;

        public override string Removal => "- (configuration error)";

        public override Task<Endpoint> PrepareAsync() => Task.FromResult(new Endpoint(server.Host, server.Port, null, true));
    }
}
