using System.Net.Sockets;
using System.Text;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>
/// Answers "does a Docker engine answer here?" cheaply: no socket file and no DOCKER_HOST means no (instantly);
/// otherwise one <c>GET /_ping</c> with a one-second budget.
/// </summary>
internal static class DockerProbe
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(1);

    public static async Task<(bool Available, string Detail)> ProbeAsync(CancellationToken cancellationToken)
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (!string.IsNullOrWhiteSpace(dockerHost))
        {
            if (dockerHost.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
            {
                return await PingUnixAsync(dockerHost["unix://".Length..], cancellationToken);
            }

            if (dockerHost.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase)
                && Uri.TryCreate(dockerHost.Replace("tcp://", "http://", StringComparison.OrdinalIgnoreCase), UriKind.Absolute, out var uri))
            {
                return await PingTcpAsync(uri.Host, uri.Port, cancellationToken);
            }

            return (false, $"DOCKER_HOST={dockerHost} is not a unix:// or tcp:// endpoint this probe understands");
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var runtimeDir = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        var candidates = new List<string> { "/var/run/docker.sock" };
        if (!string.IsNullOrEmpty(runtimeDir))
        {
            candidates.Add(Path.Combine(runtimeDir, "docker.sock"));
        }

        if (!string.IsNullOrEmpty(home))
        {
            candidates.Add(Path.Combine(home, ".docker", "run", "docker.sock"));
            candidates.Add(Path.Combine(home, ".docker", "desktop", "docker.sock"));
        }

        foreach (var path in candidates.Where(File.Exists))
        {
            var result = await PingUnixAsync(path, cancellationToken);
            if (result.Available)
            {
                return result;
            }
        }

        return (false, "no DOCKER_HOST and no answering docker.sock");
    }

    private static async Task<(bool Available, string Detail)> PingUnixAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return (false, $"{path} does not exist");
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        return await PingAsync(socket, new UnixDomainSocketEndPoint(path), path, cancellationToken);
    }

    private static async Task<(bool Available, string Detail)> PingTcpAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var endPoint = System.Net.IPAddress.TryParse(host, out var ip)
            ? (System.Net.EndPoint)new System.Net.IPEndPoint(ip, port)
            : new System.Net.DnsEndPoint(host, port);
        return await PingAsync(socket, endPoint, $"{host}:{port}", cancellationToken);
    }

    private static async Task<(bool Available, string Detail)> PingAsync(Socket socket, System.Net.EndPoint endPoint, string name, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(Budget);
        try
        {
            await socket.ConnectAsync(endPoint, cts.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"), SocketFlags.None, cts.Token);
            var buffer = new byte[256];
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            var head = Encoding.ASCII.GetString(buffer, 0, read);
            return head.StartsWith("HTTP/1.", StringComparison.Ordinal) && head.Contains(" 200 ", StringComparison.Ordinal)
                ? (true, $"Docker engine at {name}")
                : (false, $"{name} answered '{head.Split('\n')[0].Trim()}'");
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return (false, $"{name}: {ex.GetType().Name} {ex.Message}");
        }
    }
}
