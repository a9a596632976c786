using System.Diagnostics;
using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.LoadHarness;

/// <summary>
/// Garnet in a process of its own, as a service meets its server: this harness started again with
/// <c>--garnet-server</c>, which runs the embedded Garnet and serves until its standard input closes. Embedded in the
/// measuring process, Garnet shares the subjects' thread pool, garbage collector and cores, which is no client's
/// situation.
/// </summary>
internal sealed class GarnetProcess : IAsyncDisposable
{
    public const string ServeArgument = "--garnet-server";

    private readonly Process _process;
    private readonly string _description;

    private GarnetProcess(Process process, RedisServer server, string description)
    {
        _process = process;
        Server = server;
        _description = description;
    }

    /// <summary>The endpoint, as the shared infrastructure's external server (never killed or restarted by the harness).</summary>
    public RedisServer Server { get; }

    /// <summary>The child's side: the embedded server, its port on the first line of standard output, until standard input closes.</summary>
    public static async Task<int> ServeAsync()
    {
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { Kind = RedisServerKind.Garnet });
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ready {server.Port} {server}"));
        Console.Out.Flush();
        await Console.In.ReadToEndAsync();
        return 0;
    }

    public static async Task<GarnetProcess> StartAsync()
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("No process path to start the Garnet server from.");
        var start = new ProcessStartInfo { FileName = self, RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(GarnetProcess).Assembly.Location);
        }

        start.ArgumentList.Add(ServeArgument);

        // Server GC, as Garnet's own server build runs (this harness measures with workstation GC).
        start.Environment["DOTNET_gcServer"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("The Garnet server process did not start.");
        try
        {
            string? line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"The Garnet server process said '{line}' instead of its port.");
            }

            // Whatever it writes later is read and dropped, so a full pipe can never stall the server.
            _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
            string[] parts = line.Split(' ', 3);

            // The shared infrastructure takes an external endpoint from the environment: set for this call only.
            string? previous = Environment.GetEnvironmentVariable(RedisServer.EndpointVariable);
            RedisServer server;
            try
            {
                Environment.SetEnvironmentVariable(RedisServer.EndpointVariable, "127.0.0.1:" + parts[1]);
                server = await RedisServer.StartAsync(new RedisServerOptions { Kind = RedisServerKind.External });
            }
            finally
            {
                Environment.SetEnvironmentVariable(RedisServer.EndpointVariable, previous);
            }

            return new GarnetProcess(process, server, parts[2]);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>What the child said it runs (version, Lua), and that it runs with server GC.</summary>
    public override string ToString() => $"{_description} in a process of its own (pid {_process.Id}, server GC) at {Server.Host}:{Server.Port}";

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _process.StandardInput.Close();
        if (!_process.WaitForExit(10_000))
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
