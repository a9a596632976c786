using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace BendCare.Cache.Benchmarks;

/// <summary>
/// The Redis the benchmarks talk to: <c>REDIS_HOST</c>/<c>REDIS_PORT</c> when set, otherwise a private
/// <c>/usr/bin/redis-server</c> on a free loopback port, in a temp dir, without persistence. The private server is
/// killed by its own pid on <see cref="Dispose"/> and, as a guard, when this process exits.
/// </summary>
internal sealed class RedisServer : IDisposable
{
    private const string DefaultBinary = "/usr/bin/redis-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly Process? _process;
    private readonly string? _directory;
    private int _disposed;

    private RedisServer(string host, int port, Process? process, string? directory)
    {
        Host = host;
        Port = port;
        _process = process;
        _directory = directory;
        if (process is not null)
        {
            AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        }
    }

    public string Host { get; }

    public int Port { get; }

    /// <summary>Whether this process started (and owns) the server.</summary>
    public bool IsOwned => _process is not null;

    public int? Pid => _process?.Id;

    public static RedisServer StartOrUseEnvironment()
    {
        string? host = Environment.GetEnvironmentVariable("REDIS_HOST");
        if (!string.IsNullOrWhiteSpace(host))
        {
            string? portText = Environment.GetEnvironmentVariable("REDIS_PORT");
            int port = string.IsNullOrWhiteSpace(portText) ? 6379 : int.Parse(portText, CultureInfo.InvariantCulture);
            return new RedisServer(host, port, null, null);
        }

        string binary = Environment.GetEnvironmentVariable("REDIS_SERVER_BINARY") ?? DefaultBinary;
        Exception? last = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            // A port found free can be taken before redis binds it: retry with another one.
            try
            {
                return Start(binary);
            }
            catch (InvalidOperationException ex)
            {
                last = ex;
            }
        }

        throw new InvalidOperationException("Could not start redis-server.", last);
    }

    private static RedisServer Start(string binary)
    {
        int port = FreeLoopbackPort();
        string directory = Directory.CreateTempSubdirectory("bendcare-bench-redis-").FullName;
        var info = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (string arg in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {binary}.");
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new RedisServer("127.0.0.1", port, process, directory);
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                server.Dispose();
                lock (output)
                {
                    throw new InvalidOperationException($"redis-server exited with {process.ExitCode}: {output}");
                }
            }

            if (Ping(port))
            {
                return server;
            }

            Thread.Sleep(20);
        }

        server.Dispose();
        throw new InvalidOperationException($"redis-server did not answer PING on port {port} within {StartTimeout.TotalSeconds} s.");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static bool Ping(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            using var stream = client.GetStream();
            stream.ReadTimeout = 1000;
            stream.Write("PING\r\n"u8);
            var buffer = new byte[16];
            int read = stream.Read(buffer);
            return read >= 5 && Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private void OnProcessExit(object? sender, EventArgs e) => Dispose();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1 || _process is null)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            _process.Dispose();
        }

        try
        {
            if (_directory is not null)
            {
                Directory.Delete(_directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover empty temp dir is harmless.
        }
    }
}
