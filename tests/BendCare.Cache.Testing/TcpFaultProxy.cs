using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>What a <see cref="TcpFaultProxy"/> does with traffic.</summary>
public enum ProxyMode
{
    /// <summary>Forward both ways.</summary>
    Pass,

    /// <summary>Forward both ways, each chunk held back by <see cref="TcpFaultProxy.CurrentDelay"/> first.</summary>
    Delay,

    /// <summary>Accept connections but never answer; open connections stop forwarding both ways (bytes are held,
    /// not dropped, so the stream is intact if the mode changes back).</summary>
    Blackhole,

    /// <summary>Reset (RST) every new connection immediately; open connections are left alone.</summary>
    Reset,
}

/// <summary>
/// A TCP proxy on a free loopback port in front of a loopback target, whose behaviour tests switch at runtime:
/// <see cref="Pass"/>, <see cref="Delay"/>, <see cref="Blackhole"/>, <see cref="Reset"/>, <see cref="DropAll"/>,
/// <see cref="Refuse"/>/<see cref="Stop"/> and <see cref="Start"/> (again on the same port). Thread-safe. Every loop
/// ends on dispose.
/// </summary>
public sealed class TcpFaultProxy : IAsyncDisposable
{
    /// <summary>Connections beyond this many open ones are reset on accept.</summary>
    public const int MaxOpenConnections = 256;

    private const int BufferSize = 16 * 1024;
    private static readonly TimeSpan UpstreamConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _disposeCts = new();
    private readonly HashSet<Connection> _connections = [];
    private readonly List<Task> _acceptLoops = [];
    private TcpListener? _listener;
    private CancellationTokenSource? _listenCts;
    private ProxyMode _mode = ProxyMode.Pass;
    private TimeSpan _delay = TimeSpan.Zero;
    private TaskCompletionSource _flowing = NewCompletedGate();
    private int _accepted;
    private int _resetOnAccept;
    private int _disposed;
    private int _holdClosesWhileBlackholed;

    /// <summary>Starts listening on <paramref name="listenPort"/> (0: a free port) and forwards to <paramref name="targetHost"/>:<paramref name="targetPort"/>,
    /// which must be a loopback address.</summary>
    public TcpFaultProxy(string targetHost, int targetPort, int listenPort = 0)
        : this(new IPEndPoint(ResolveLoopback(targetHost), targetPort), listenPort)
    {
    }

    /// <summary>Starts listening on <paramref name="listenPort"/> (0: a free port) and forwards to the loopback <paramref name="target"/>.</summary>
    public TcpFaultProxy(IPEndPoint target, int listenPort = 0)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!IPAddress.IsLoopback(target.Address))
        {
            throw new ArgumentException($"TcpFaultProxy only forwards to loopback addresses, not {target}.", nameof(target));
        }

        Target = target;
        Port = listenPort;
        Start();
    }

    /// <summary>Where traffic is forwarded.</summary>
    public IPEndPoint Target { get; }

    /// <summary>The loopback port the proxy listens on (kept across <see cref="Stop"/>/<see cref="Start"/>).</summary>
    public int Port { get; private set; }

    /// <summary><c>127.0.0.1:Port</c>.</summary>
    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary><c>127.0.0.1:Port</c> as a StackExchange.Redis connection string (no options).</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>The current mode.</summary>
    public ProxyMode Mode
    {
        get
        {
            lock (_lock)
            {
                return _mode;
            }
        }
    }

    /// <summary>The delay applied to each chunk in <see cref="ProxyMode.Delay"/> mode.</summary>
    public TimeSpan CurrentDelay
    {
        get
        {
            lock (_lock)
            {
                return _delay;
            }
        }
    }

    /// <summary>True while the proxy accepts connections (false after <see cref="Refuse"/>/<see cref="Stop"/>).</summary>
    public bool IsListening
    {
        get
        {
            lock (_lock)
            {
                return _listener is not null;
            }
        }
    }

    /// <summary>
    /// When set, a blackhole also holds back a close from either side (by default an EOF is passed on at once): the
    /// server can drop a connection while the client, like one behind a middlebox that lost the FIN, still believes it
    /// open. Off by default.
    /// </summary>
    public bool HoldClosesWhileBlackholed
    {
        get => Volatile.Read(ref _holdClosesWhileBlackholed) != 0;
        set => Volatile.Write(ref _holdClosesWhileBlackholed, value ? 1 : 0);
    }

    /// <summary>Connections accepted so far (including those reset or blackholed).</summary>
    public int AcceptedConnections => Volatile.Read(ref _accepted);

    /// <summary>Connections reset right after accept (Reset mode or over <see cref="MaxOpenConnections"/>).</summary>
    public int ResetConnections => Volatile.Read(ref _resetOnAccept);

    /// <summary>Connections currently open through the proxy.</summary>
    public int OpenConnections
    {
        get
        {
            lock (_lock)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Forward normally (also ends Delay/Blackhole/Reset; held bytes flow on).</summary>
    public void Pass() => SetMode(ProxyMode.Pass, TimeSpan.Zero);

    /// <summary>Forward, holding each chunk back by <paramref name="delay"/> (per direction, order kept).</summary>
    public void Delay(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        SetMode(ProxyMode.Delay, delay);
    }

    /// <summary>Accept but never answer; open connections stop forwarding both ways until the mode changes.</summary>
    public void Blackhole() => SetMode(ProxyMode.Blackhole, TimeSpan.Zero);

    /// <summary>Reset new connections immediately (RST); open ones are left alone (see <see cref="DropAll"/>).</summary>
    public void Reset() => SetMode(ProxyMode.Reset, TimeSpan.Zero);

    /// <summary>Reset every open connection now (RST both sides); keep listening in the current mode.</summary>
    public void DropAll()
    {
        Connection[] open;
        lock (_lock)
        {
            open = [.. _connections];
        }

        foreach (var connection in open)
        {
            connection.Abort();
        }
    }

    /// <summary>Stop listening so new connects are refused; open connections stay (call <see cref="Stop"/> to cut them too).</summary>
    public void Refuse()
    {
        TcpListener? listener;
        CancellationTokenSource? listenCts;
        lock (_lock)
        {
            listener = _listener;
            listenCts = _listenCts;
            _listener = null;
            _listenCts = null;
        }

        listenCts?.Cancel();
        listener?.Stop();
        listener?.Dispose();
        listenCts?.Dispose();
    }

    /// <summary>Like a server going away: stop listening (connects refused) and reset every open connection.</summary>
    public void Stop()
    {
        Refuse();
        DropAll();
    }

    /// <summary>Listen again on the same <see cref="Port"/> (no-op while listening). Retries the bind for a few seconds.</summary>
    public void Start()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_listener is not null)
            {
                return;
            }

            var listener = Bind(Port);
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var listenCts = CancellationTokenSource.CreateLinkedTokenSource(_disposeCts.Token);
            _listener = listener;
            _listenCts = listenCts;
            _acceptLoops.RemoveAll(t => t.IsCompleted);
            _acceptLoops.Add(Task.Run(() => AcceptLoopAsync(listener, listenCts.Token)));
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"TcpFaultProxy {EndPoint} -> {Target} ({Mode}, listening={IsListening}, open={OpenConnections})";

    /// <summary>Stops listening, resets all connections and waits (bounded) for every loop to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposeCts.CancelAsync();
        Refuse();
        DropAll();
        Task[] pending;
        lock (_lock)
        {
            _flowing.TrySetResult();
            pending = [.. _acceptLoops, .. _connections.Select(c => c.Completion)];
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _disposeCts.Dispose();
    }

    private static TaskCompletionSource NewCompletedGate()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }

    private static IPAddress ResolveLoopback(string host)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        if (IPAddress.TryParse(host, out var address))
        {
            return address; // validated as loopback by the other constructor, without touching the network
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        throw new ArgumentException($"TcpFaultProxy only forwards to loopback addresses; '{host}' is not one.", nameof(host));
    }

    private static TcpListener Bind(int port)
    {
        for (var attempt = 1; ; attempt++)
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            try
            {
                listener.Start(backlog: 128);
                return listener;
            }
            catch (SocketException) when (attempt < 25 && port != 0)
            {
                listener.Dispose();
                Thread.Sleep(200);
            }
        }
    }

    private static void AbortSocket(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // close => RST instead of FIN
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    private void SetMode(ProxyMode mode, TimeSpan delay)
    {
        lock (_lock)
        {
            _mode = mode;
            _delay = delay;
            if (mode == ProxyMode.Blackhole)
            {
                if (_flowing.Task.IsCompleted)
                {
                    _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
            else
            {
                _flowing.TrySetResult();
            }
        }
    }

    private async Task WaitWhileBlackholedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task gate;
            lock (_lock)
            {
                gate = _flowing.Task;
            }

            if (gate.IsCompleted)
            {
                return;
            }

            await gate.WaitAsync(cancellationToken);
        }
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                if (cancellationToken.IsCancellationRequested || ex is not SocketException)
                {
                    return;
                }

                continue; // e.g. the peer reset before accept completed
            }

            Interlocked.Increment(ref _accepted);
            Connection? connection = null;
            lock (_lock)
            {
                if (_mode != ProxyMode.Reset && _connections.Count < MaxOpenConnections && Volatile.Read(ref _disposed) == 0)
                {
                    connection = new Connection(this, socket, _disposeCts.Token);
                    _connections.Add(connection);
                }
            }

            if (connection is null)
            {
                Interlocked.Increment(ref _resetOnAccept);
                AbortSocket(socket);
                continue;
            }

            connection.Run();
        }
    }

    private void Remove(Connection connection)
    {
        lock (_lock)
        {
            _connections.Remove(connection);
        }
    }

    /// <summary>One client connection and its upstream connection.</summary>
    private sealed class Connection
    {
        private readonly TcpFaultProxy _proxy;
        private readonly Socket _client;
        private readonly Socket _upstream;
        private readonly CancellationTokenSource _cts;
        private int _aborted;

        public Connection(TcpFaultProxy proxy, Socket client, CancellationToken disposeToken)
        {
            _proxy = proxy;
            _client = client;
            _client.NoDelay = true;
            _upstream = new Socket(proxy.Target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _cts = CancellationTokenSource.CreateLinkedTokenSource(disposeToken);
        }

        public Task Completion { get; private set; } = Task.CompletedTask;

        public void Run() => Completion = Task.Run(RunAsync);

        /// <summary>RST both sides and stop both pumps.</summary>
        public void Abort()
        {
            if (Interlocked.Exchange(ref _aborted, 1) != 0)
            {
                return;
            }

            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }

            AbortSocket(_client);
            AbortSocket(_upstream);
        }

        private async Task RunAsync()
        {
            var token = _cts.Token;
            try
            {
                // A connection accepted during a blackhole just hangs: nothing is forwarded or answered.
                await _proxy.WaitWhileBlackholedAsync(token);
                using (var connectCts = CancellationTokenSource.CreateLinkedTokenSource(token))
                {
                    connectCts.CancelAfter(UpstreamConnectTimeout);
                    try
                    {
                        await _upstream.ConnectAsync(_proxy.Target, connectCts.Token);
                    }
                    catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                    {
                        Abort(); // target down: the client sees a reset, as if it had connected directly
                        return;
                    }
                }

                var toServer = PumpAsync(_client, _upstream, token);
                var toClient = PumpAsync(_upstream, _client, token);
                var first = await Task.WhenAny(toServer, toClient);
                if (await first)
                {
                    // Clean EOF on one side: pass the FIN on, then close.
                    Close();
                }
                else
                {
                    Abort();
                }

                await Task.WhenAll(toServer, toClient);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                Abort();
            }
            finally
            {
                _proxy.Remove(this);
                _client.Dispose();
                _upstream.Dispose();
                _cts.Dispose();
            }
        }

        /// <summary>Copies until EOF (true) or an error/abort (false).</summary>
        private async Task<bool> PumpAsync(Socket from, Socket to, CancellationToken token)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                while (true)
                {
                    var read = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, token);
                    if (read == 0)
                    {
                        if (_proxy.HoldClosesWhileBlackholed)
                        {
                            await _proxy.WaitWhileBlackholedAsync(token);
                        }

                        return true;
                    }

                    await _proxy.WaitWhileBlackholedAsync(token);
                    var delay = _proxy.CurrentDelay;
                    if (delay > TimeSpan.Zero)
                    {
                        await Task.Delay(delay, token);
                        await _proxy.WaitWhileBlackholedAsync(token);
                    }

                    var sent = 0;
                    while (sent < read)
                    {
                        sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, token);
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return false;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private void Close()
        {
            if (Interlocked.Exchange(ref _aborted, 1) != 0)
            {
                return;
            }

            try
            {
                _cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }

            foreach (var socket in new[] { _client, _upstream })
            {
                try
                {
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                }

                socket.Dispose();
            }
        }
    }
}
