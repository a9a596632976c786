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

    private GarnetProcess(Process process, RedisServer server)
    {
        _process = process;
        Server = server;
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
        var start = new ProcessStartInfo { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.FileName = self;
            start.ArgumentList.Add(typeof(GarnetProcess).Assembly.Location);
        }
        else
        {
            start.FileName = self;
        }

        start.ArgumentList.Add(ServeArgument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("The Garnet server process did not start.");
        string? line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The Garnet server process said '{line}' instead of its port.");
        }

        string[] parts = line.Split(' ', 3);
        Environment.SetEnvironmentVariable(RedisServer.EndpointVariable, "127.0.0.1:" + parts[1]);
        var server = await RedisServer.StartAsync(new RedisServerOptions { Kind = RedisServerKind.External });
        Console.WriteLine($"Garnet in its own process (pid {process.Id}): {parts[2]}");
        return new GarnetProcess(process, server);
    }

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
