using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>
/// A real Redis Cluster on loopback: six <c>redis-server --cluster-enabled yes</c> processes (three primaries, one
/// replica each) joined by <c>redis-cli --cluster create</c>. Each node is a <see cref="RedisServer"/> of the binary
/// kind: its own free port, its own temp dir (holding <c>nodes.conf</c>), stopped by killing its own process id. Nodes
/// announce 127.0.0.1. Failures to start throw (there is no fallback: a cluster needs the binaries), so tests that
/// need it fail rather than skip.
/// </summary>
/// <remarks>
/// The harness talks to the nodes over short raw RESP connections (<see cref="ExecuteAsync(int, string[])"/>), never
/// through StackExchange.Redis, so its view of the topology is what the servers say right now and it adds no
/// connection noise to the client under test.
/// </remarks>
public sealed class RedisCluster : IAsyncDisposable
{
    /// <summary>Hash slots in a Redis Cluster.</summary>
    public const int SlotCount = 16384;

    /// <summary>Nodes started: three primaries with one replica each.</summary>
    public const int NodeCount = 6;

    /// <summary>The loopback address every node binds to and announces.</summary>
    public const string Host = "127.0.0.1";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(60);

    private readonly RedisServer[] _nodes;
    private readonly string _cli;
    private int _disposed;

    private RedisCluster(RedisServer[] nodes, string cli)
    {
        _nodes = nodes;
        _cli = cli;
    }

    /// <summary>Every node's server (running or killed), in start order.</summary>
    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary><c>127.0.0.1:port</c> of every node, in start order.</summary>
    public IReadOnlyList<string> NodeEndpoints => [.. _nodes.Select(n => n.EndPointText)];

    /// <summary>A running node to point a client at (the client discovers the rest of the cluster from it).</summary>
    public RedisServer Seed => _nodes.FirstOrDefault(n => n.IsRunning) ?? throw new InvalidOperationException("No cluster node is running.");

    /// <summary>Version line of the server binary and the nodes' ports, for test output.</summary>
    public string Description { get; private set; } = string.Empty;

    /// <summary>
    /// Starts six nodes, creates the cluster and waits until every node reports <c>cluster_state:ok</c>, all
    /// <see cref="SlotCount"/> slots are served, and every primary has a replica in sync.
    /// </summary>
    public static async Task<RedisCluster> StartAsync(CancellationToken cancellationToken = default)
    {
        var cli = FindCli() ?? throw new InvalidOperationException(
            "redis-cli (or valkey-cli) is not on PATH: the cluster tests need redis-server and redis-tools (apt-get install redis-server redis-tools).");
        if (BinaryRedisBackend.FindBinary() is null)
        {
            throw new InvalidOperationException("redis-server (or valkey-server) is not on PATH: the cluster tests need it (apt-get install redis-server).");
        }

        var started = Stopwatch.StartNew();
        var nodes = new RedisServer[NodeCount];
        try
        {
            await Task.WhenAll(Enumerable.Range(0, NodeCount).Select(async i => nodes[i] = await StartNodeAsync(cancellationToken)));
            var cluster = new RedisCluster(nodes, cli);
            await cluster.CreateAsync(cancellationToken);
            await cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30), cancellationToken);
            var topology = await cluster.GetTopologyAsync(cancellationToken);
            cluster.Description = $"{nodes[0]} ... cluster of {NodeCount} nodes ready in {started.Elapsed.TotalSeconds:0.0} s: {topology}";
            Console.Error.WriteLine($"[RedisCluster] {cluster.Description}");
            return cluster;
        }
        catch
        {
            foreach (var node in nodes)
            {
                if (node is not null)
                {
                    await node.DisposeAsync();
                }
            }

            throw;
        }
    }

    /// <summary>The hash slot of a key (CRC16/XMODEM of the key, or of its <c>{hash tag}</c>, modulo 16384).</summary>
    public static int HashSlot(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var bytes = Encoding.UTF8.GetBytes(key);
        var span = bytes.AsSpan();
        int open = span.IndexOf((byte)'{');
        if (open >= 0)
        {
            int close = span[(open + 1)..].IndexOf((byte)'}');
            if (close > 0)
            {
                span = span.Slice(open + 1, close);
            }
        }

        ushort crc = 0;
        foreach (byte b in span)
        {
            crc ^= (ushort)(b << 8);
            for (int i = 0; i < 8; i++)
            {
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            }
        }

        return crc % SlotCount;
    }

    /// <summary>The cluster as a running node sees it (<c>CLUSTER NODES</c>), asking the nodes in turn until one answers.</summary>
    public async Task<ClusterTopology> GetTopologyAsync(CancellationToken cancellationToken = default)
    {
        Exception? last = null;
        foreach (var node in _nodes.Where(n => n.IsRunning))
        {
            try
            {
                return ClusterTopology.Parse((string)(await ExecuteAsync(node.Port, cancellationToken, "CLUSTER", "NODES"))!);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
            {
                last = ex;
            }
        }

        throw new InvalidOperationException("No cluster node answered CLUSTER NODES.", last);
    }

    /// <summary>The primary that currently serves a key.</summary>
    public async Task<ClusterNode> PrimaryForKeyAsync(string key, CancellationToken cancellationToken = default) =>
        (await GetTopologyAsync(cancellationToken)).PrimaryOf(HashSlot(key));

    /// <summary>The primary that currently serves a slot.</summary>
    public async Task<ClusterNode> PrimaryForSlotAsync(int slot, CancellationToken cancellationToken = default) =>
        (await GetTopologyAsync(cancellationToken)).PrimaryOf(slot);

    /// <summary>Crash (kill -9 of its own process) of the primary serving <paramref name="key"/>. Returns the killed node.</summary>
    public async Task<ClusterNode> KillPrimaryAsync(string key, CancellationToken cancellationToken = default) =>
        await KillPrimaryAsync(HashSlot(key), cancellationToken);

    /// <summary>Crash (kill -9 of its own process) of the primary serving <paramref name="slot"/>. Returns the killed node.</summary>
    public async Task<ClusterNode> KillPrimaryAsync(int slot, CancellationToken cancellationToken = default)
    {
        var primary = await PrimaryForSlotAsync(slot, cancellationToken);
        await ServerOf(primary).KillAsync();
        return primary;
    }

    /// <summary>
    /// Waits until a node other than <paramref name="previous"/> serves <paramref name="slot"/> as a primary, as seen
    /// by every running node, and returns it (after a crash: the promoted replica).
    /// </summary>
    public async Task<ClusterNode> WaitForNewPrimaryAsync(int slot, ClusterNode previous, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(previous);
        var deadline = Stopwatch.StartNew();
        string last = "no answer";
        while (deadline.Elapsed < timeout)
        {
            var owners = new List<ClusterNode?>();
            foreach (var node in _nodes.Where(n => n.IsRunning))
            {
                try
                {
                    var view = ClusterTopology.Parse((string)(await ExecuteAsync(node.Port, cancellationToken, "CLUSTER", "NODES"))!);
                    owners.Add(view.TryPrimaryOf(slot));
                }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
                {
                    owners.Add(null);
                }
            }

            last = string.Join(", ", owners.Select(o => o?.EndPoint ?? "none"));
            if (owners.Count > 0 && owners.All(o => o is not null && o.Id != previous.Id && o.Id == owners[0]!.Id))
            {
                return owners[0]!;
            }

            await Task.Delay(25, cancellationToken);
        }

        throw new TimeoutException($"Slot {slot} still not served by a new primary after {timeout.TotalSeconds:0} s (owners per node: {last}).");
    }

    /// <summary>
    /// Manual failover: <c>CLUSTER FAILOVER</c> on a replica of <paramref name="primary"/> (coordinated with the
    /// primary, no acknowledged write lost), then waits until every running node sees the replica as the primary of
    /// the slots. Returns the new primary.
    /// </summary>
    public async Task<ClusterNode> FailoverAsync(ClusterNode primary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(primary);
        var topology = await GetTopologyAsync(cancellationToken);
        var replica = topology.ReplicasOf(primary).FirstOrDefault(r => !r.IsFailed && IsRunning(r))
            ?? throw new InvalidOperationException($"{primary.EndPoint} has no running replica to fail over to. {topology}");
        var reply = await ExecuteAsync(replica.Port, cancellationToken, "CLUSTER", "FAILOVER");
        if (!string.Equals(reply as string, "OK", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"CLUSTER FAILOVER on {replica.EndPoint} answered {reply}.");
        }

        var slot = primary.Slots.Count > 0 ? primary.Slots[0].Start : throw new InvalidOperationException($"{primary.EndPoint} serves no slots.");
        return await WaitForNewPrimaryAsync(slot, primary, TimeSpan.FromSeconds(20), cancellationToken);
    }

    /// <summary>Starts a killed node again on its port with its old <c>nodes.conf</c>: it rejoins (as a replica after a failover).</summary>
    public async Task RestartAsync(ClusterNode node, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        var server = ServerOf(node);
        if (!server.IsRunning)
        {
            await server.RestartAsync(cancellationToken);
        }
    }

    /// <summary>Starts every killed node again and waits until the cluster is healthy.</summary>
    public async Task RestoreAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        foreach (var server in _nodes.Where(n => !n.IsRunning))
        {
            await server.RestartAsync(cancellationToken);
        }

        await WaitUntilHealthyAsync(timeout, cancellationToken);
    }

    /// <summary>
    /// Waits until every running node reports <c>cluster_state:ok</c> with all slots assigned and ok, all running nodes
    /// agree on which primary serves which slots, the slots are all covered, and (when every node runs) every primary
    /// has a replica whose link to it is up.
    /// </summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var elapsed = Stopwatch.StartNew();
        string problem = "not checked yet";
        while (true)
        {
            problem = await HealthProblemAsync(cancellationToken);
            if (problem.Length == 0)
            {
                return;
            }

            if (elapsed.Elapsed > timeout)
            {
                throw new TimeoutException($"Redis Cluster not healthy after {timeout.TotalSeconds:0} s: {problem}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Sends one command to the node on <paramref name="port"/> over a fresh connection; RESP errors throw.</summary>
    public Task<object?> ExecuteAsync(int port, params string[] command) => ExecuteAsync(port, CancellationToken.None, command);

    /// <summary>Sends one command to the node on <paramref name="port"/> over a fresh connection; RESP errors throw.</summary>
    public static async Task<object?> ExecuteAsync(int port, CancellationToken cancellationToken, params string[] command)
    {
        ArgumentNullException.ThrowIfNull(command);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(CommandTimeout);
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(Host, port, cts.Token);
        await using var stream = client.GetStream();
        var request = new StringBuilder();
        request.Append('*').Append(command.Length).Append("\r\n");
        foreach (string part in command)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cts.Token);
        var reader = new RespReader(stream);
        return await reader.ReadAsync(cts.Token);
    }

    /// <summary>Kills every node (own process ids) and deletes their temp dirs.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Task.WhenAll(_nodes.Select(n => n.DisposeAsync().AsTask()));
    }

    /// <inheritdoc />
    public override string ToString() => $"Redis Cluster {string.Join(' ', NodeEndpoints)}";

    private static async Task<RedisServer> StartNodeAsync(CancellationToken cancellationToken)
    {
        // The cluster bus port defaults to port + 10000, which may not exist or be taken: pick it explicitly.
        for (int attempt = 1; ; attempt++)
        {
            int port = RedisServer.GetFreePort();
            int busPort = RedisServer.GetFreePort();
            try
            {
                return await RedisServer.StartAsync(
                    new RedisServerOptions
                    {
                        Kind = RedisServerKind.Binary,
                        Port = port,
                        ExtraArgs =
                        [
                            "--cluster-enabled", "yes",
                            "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "2000",

                            // While a failed primary's slots are uncovered (between its failure being agreed and its
                            // replica's promotion) the other shards keep serving their own slots, as a production
                            // multi-shard cluster is configured to; with the default every node answers CLUSTERDOWN.
                            "--cluster-require-full-coverage", "no",
                            "--cluster-port", busPort.ToString(CultureInfo.InvariantCulture),
                            "--appendonly", "no",
                            "--save", string.Empty,
                        ],
                    },
                    cancellationToken);
            }
            catch (InvalidOperationException) when (attempt < 3 && !cancellationToken.IsCancellationRequested)
            {
                // A port taken between picking and binding: try two others.
            }
        }
    }

    private static string? FindCli()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var name in new[] { "redis-cli", "valkey-cli" })
        {
            foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private async Task CreateAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(_cli)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        info.ArgumentList.Add("--cluster");
        info.ArgumentList.Add("create");
        foreach (var endpoint in NodeEndpoints)
        {
            info.ArgumentList.Add(endpoint);
        }

        info.ArgumentList.Add("--cluster-replicas");
        info.ArgumentList.Add("1");
        info.ArgumentList.Add("--cluster-yes");

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {_cli}.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(CreateTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"redis-cli --cluster create did not finish within {CreateTimeout.TotalSeconds:0} s.");
        }

        string output = await stdout + await stderr;
        if (process.ExitCode != 0 || !output.Contains("All 16384 slots covered", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed (exit {process.ExitCode}):{Environment.NewLine}{output}");
        }
    }

    private async Task<string> HealthProblemAsync(CancellationToken cancellationToken)
    {
        var running = _nodes.Where(n => n.IsRunning).ToArray();
        if (running.Length == 0)
        {
            return "no node is running";
        }

        string? mapping = null;
        ClusterTopology? first = null;
        foreach (var node in running)
        {
            string infoText;
            ClusterTopology view;
            string? replicationText = null;
            try
            {
                infoText = (string)(await ExecuteAsync(node.Port, cancellationToken, "CLUSTER", "INFO"))!;
                view = ClusterTopology.Parse((string)(await ExecuteAsync(node.Port, cancellationToken, "CLUSTER", "NODES"))!);
                if (view.Myself is { IsPrimary: false })
                {
                    replicationText = (string)(await ExecuteAsync(node.Port, cancellationToken, "INFO", "replication"))!;
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
            {
                return $"{node.EndPointText}: {ex.GetType().Name}: {ex.Message}";
            }

            var info = ParseInfo(infoText);
            if (Value(info, "cluster_state") != "ok"
                || Value(info, "cluster_slots_assigned") != "16384"
                || Value(info, "cluster_slots_ok") != "16384")
            {
                return $"{node.EndPointText}: state {Value(info, "cluster_state")}, slots assigned {Value(info, "cluster_slots_assigned")}, ok {Value(info, "cluster_slots_ok")}";
            }

            var nodeMapping = view.SlotMapping();
            if (mapping is null)
            {
                mapping = nodeMapping;
                first = view;
            }
            else if (!string.Equals(mapping, nodeMapping, StringComparison.Ordinal))
            {
                return $"nodes disagree: {running[0].EndPointText} sees {mapping}; {node.EndPointText} sees {nodeMapping}";
            }

            if (view.Myself is { IsPrimary: false } me && replicationText is not null)
            {
                var replication = ParseInfo(replicationText);
                if (Value(replication, "master_link_status") != "up")
                {
                    return $"replica {me.EndPoint}: master link {Value(replication, "master_link_status")}";
                }
            }
        }

        var primaries = first!.Primaries;
        if (primaries.Sum(p => p.Slots.Sum(r => r.End - r.Start + 1)) != SlotCount)
        {
            return $"slots not all covered: {first}";
        }

        if (primaries.Any(p => !IsRunning(p)))
        {
            return $"a primary in the slot map is not running: {first}";
        }

        if (running.Length == NodeCount && primaries.Any(p => !first.ReplicasOf(p).Any(r => !r.IsFailed && IsRunning(r))))
        {
            return $"a primary has no replica: {first}";
        }

        return string.Empty;
    }

    private bool IsRunning(ClusterNode node) => _nodes.Any(n => n.Port == node.Port && n.IsRunning);

    private RedisServer ServerOf(ClusterNode node) =>
        _nodes.FirstOrDefault(n => n.Port == node.Port) ?? throw new InvalidOperationException($"{node.EndPoint} is not one of this cluster's nodes.");

    private static Dictionary<string, string> ParseInfo(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && !line.StartsWith('#'))
            {
                values[line[..colon]] = line[(colon + 1)..];
            }
        }

        return values;
    }

    private static string Value(Dictionary<string, string> values, string name) => values.TryGetValue(name, out var value) ? value : "?";

    /// <summary>A minimal RESP2 reply reader: simple strings, errors (thrown), integers, bulk strings, arrays.</summary>
    private sealed class RespReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _start;
        private int _end;

        public async Task<object?> ReadAsync(CancellationToken cancellationToken)
        {
            string line = await ReadLineAsync(cancellationToken);
            string rest = line[1..];
            switch (line[0])
            {
                case '+':
                    return rest;
                case '-':
                    throw new InvalidOperationException($"Redis error: {rest}");
                case ':':
                    return long.Parse(rest, CultureInfo.InvariantCulture);
                case '$':
                    int length = int.Parse(rest, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var bytes = await ReadExactlyAsync(length + 2, cancellationToken);
                    return Encoding.UTF8.GetString(bytes, 0, length);
                case '*':
                    int count = int.Parse(rest, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return null;
                    }

                    var items = new object?[count];
                    for (int i = 0; i < count; i++)
                    {
                        items[i] = await ReadAsync(cancellationToken);
                    }

                    return items;
                default:
                    throw new InvalidOperationException($"Unexpected RESP reply: {line}");
            }
        }

        private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (newline > _start && _buffer[newline - 1] == (byte)'\r')
                {
                    string line = Encoding.UTF8.GetString(_buffer, _start, newline - 1 - _start);
                    _start = newline + 1;
                    return line;
                }

                await FillAsync(cancellationToken);
            }
        }

        private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
        {
            var result = new byte[count];
            int copied = 0;
            while (copied < count)
            {
                if (_start == _end)
                {
                    await FillAsync(cancellationToken);
                }

                int take = Math.Min(count - copied, _end - _start);
                Array.Copy(_buffer, _start, result, copied, take);
                _start += take;
                copied += take;
            }

            return result;
        }

        private async Task FillAsync(CancellationToken cancellationToken)
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new InvalidOperationException("RESP line longer than the reader's buffer.");
            }

            int read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                throw new IOException("The server closed the connection.");
            }

            _end += read;
        }
    }
}

/// <summary>One line of <c>CLUSTER NODES</c>.</summary>
/// <param name="Id">The node id.</param>
/// <param name="Host">The announced IP.</param>
/// <param name="Port">The client port.</param>
/// <param name="IsPrimary">Flagged <c>master</c>.</param>
/// <param name="PrimaryId">For a replica, its primary's id.</param>
/// <param name="IsFailed">Flagged <c>fail</c> or <c>fail?</c>.</param>
/// <param name="IsMyself">The node that answered.</param>
/// <param name="Slots">Slot ranges served (primaries).</param>
public sealed record ClusterNode(
    string Id,
    string Host,
    int Port,
    bool IsPrimary,
    string? PrimaryId,
    bool IsFailed,
    bool IsMyself,
    IReadOnlyList<(int Start, int End)> Slots)
{
    /// <summary><c>host:port</c>.</summary>
    public string EndPoint => $"{Host}:{Port}";

    /// <summary>Whether this node serves the slot.</summary>
    public bool Serves(int slot) => Slots.Any(r => slot >= r.Start && slot <= r.End);

    /// <inheritdoc />
    public override string ToString() =>
        $"{EndPoint} {(IsPrimary ? "primary" : "replica")}{(IsFailed ? " FAILED" : string.Empty)}"
        + (Slots.Count == 0 ? string.Empty : " " + string.Join(',', Slots.Select(r => r.Start == r.End ? $"{r.Start}" : $"{r.Start}-{r.End}")));
}

/// <summary>The cluster as one node sees it.</summary>
public sealed class ClusterTopology
{
    private ClusterTopology(IReadOnlyList<ClusterNode> nodes) => Nodes = nodes;

    /// <summary>Every node the answering node knows.</summary>
    public IReadOnlyList<ClusterNode> Nodes { get; }

    /// <summary>Primaries that serve slots and are not flagged failed.</summary>
    public IReadOnlyList<ClusterNode> Primaries => [.. Nodes.Where(n => n.IsPrimary && !n.IsFailed && n.Slots.Count > 0).OrderBy(n => n.Slots[0].Start)];

    /// <summary>The node that answered.</summary>
    public ClusterNode? Myself => Nodes.FirstOrDefault(n => n.IsMyself);

    /// <summary>Parses the text of <c>CLUSTER NODES</c>.</summary>
    public static ClusterTopology Parse(string clusterNodes)
    {
        ArgumentNullException.ThrowIfNull(clusterNodes);
        var nodes = new List<ClusterNode>();
        foreach (var line in clusterNodes.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 8)
            {
                continue;
            }

            // ip:port@cport[,hostname]
            var address = parts[1].Split('@')[0];
            int colon = address.LastIndexOf(':');
            var flags = parts[2].Split(',');
            var slots = new List<(int, int)>();
            foreach (var slot in parts.Skip(8))
            {
                if (slot.StartsWith('['))
                {
                    continue; // importing/migrating marker
                }

                var range = slot.Split('-');
                int start = int.Parse(range[0], CultureInfo.InvariantCulture);
                slots.Add((start, range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : start));
            }

            nodes.Add(new ClusterNode(
                parts[0],
                address[..colon],
                int.Parse(address[(colon + 1)..], CultureInfo.InvariantCulture),
                flags.Contains("master"),
                parts[3] == "-" ? null : parts[3],
                flags.Contains("fail") || flags.Contains("fail?"),
                flags.Contains("myself"),
                slots));
        }

        return new ClusterTopology(nodes);
    }

    /// <summary>The primary serving a slot; throws when none does.</summary>
    public ClusterNode PrimaryOf(int slot) =>
        TryPrimaryOf(slot) ?? throw new InvalidOperationException($"No primary serves slot {slot}: {this}");

    /// <summary>The primary serving a slot, or null.</summary>
    public ClusterNode? TryPrimaryOf(int slot) => Primaries.FirstOrDefault(p => p.Serves(slot));

    /// <summary>The primary serving a key.</summary>
    public ClusterNode PrimaryOf(string key) => PrimaryOf(RedisCluster.HashSlot(key));

    /// <summary>Replicas of a primary.</summary>
    public IReadOnlyList<ClusterNode> ReplicasOf(ClusterNode primary)
    {
        ArgumentNullException.ThrowIfNull(primary);
        return [.. Nodes.Where(n => !n.IsPrimary && n.PrimaryId == primary.Id)];
    }

    /// <summary>Primary id → slot ranges, canonical, for comparing two nodes' views.</summary>
    public string SlotMapping() => string.Join(" | ", Primaries.Select(p => $"{p.Id}:{string.Join(',', p.Slots.Select(r => $"{r.Start}-{r.End}"))}"));

    /// <inheritdoc />
    public override string ToString() =>
        string.Join("; ", Primaries.Select(p => $"{p} (replicas: {string.Join(", ", ReplicasOf(p).Select(r => r.EndPoint + (r.IsFailed ? " FAILED" : string.Empty)))})"));
}
