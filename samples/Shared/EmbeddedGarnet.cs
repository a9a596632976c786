using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Garnet;

namespace BendCare.Cache.Samples;

/// <summary>
/// A Redis-compatible server (Microsoft Garnet) running inside this process on a free loopback port,
/// so a sample needs no Redis installed. Lua is on: the cache's write-back is a Lua compare-and-set.
/// </summary>
internal sealed class EmbeddedGarnet : IDisposable
{
    private GarnetServer? _server;

    private EmbeddedGarnet(GarnetServer server, int port)
    {
        _server = server;
        Port = port;
    }

    public string Host => "127.0.0.1";

    public int Port { get; }

    public bool IsRunning => _server is not null;

    public static EmbeddedGarnet Start()
    {
        var port = FindFreeLoopbackPort();
        string[] args =
        [
            "--bind", "127.0.0.1",
            "--port", port.ToString(CultureInfo.InvariantCulture),
            "--lua", "true",  // off by default in Garnet
            "-q",             // no banner
        ];
        var server = new GarnetServer(args);
        try
        {
            server.Start();
        }
        catch
        {
            server.Dispose();
            throw;
        }

        return new EmbeddedGarnet(server, port);
    }

    /// <summary>Stops the server: its port refuses connections from now on, as if Redis went down.</summary>
    public void Dispose()
    {
        _server?.Dispose();
        _server = null;
    }

    private static int FindFreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
