using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.LoadDriver.Hosting;

/// <summary>
/// The reference service as an operator runs it: <c>dotnet BendCare.Cache.ReferenceService.dll --urls ... --cache on|off</c>
/// in a process of its own, configured only through its documented switches (<c>REDIS_*</c>, <c>Database__Path</c>,
/// <c>BendCareCache__KeyPrefix</c>), with a fresh SQLite file in a temp folder. Stopped by killing its own process.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private const int OutputLines = 200;

    // Settings the driver gives the service itself; whatever the driver's environment holds under these names is dropped.
    private static readonly string[] OwnSettings =
        ["REDIS_HOST", "REDIS_PORT", "REDIS_USERNAME", "REDIS_PASSWORD", "REDIS_TLS", "BENDCARE_CACHE", "ASPNETCORE_URLS", "Database__Path"];

    private readonly Process _process;
    private readonly DirectoryInfo _directory;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentDictionary<string, int> _warnings = new(StringComparer.Ordinal);
    private string? _levelLine;

    private ServiceProcess(Process process, DirectoryInfo directory, Uri address)
    {
        _process = process;
        _directory = directory;
        Address = address;
        Client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan, MaxConnectionsPerServer = int.MaxValue })
        {
            BaseAddress = address,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>Where the service listens (a free port on 127.0.0.1).</summary>
    public Uri Address { get; }

    /// <summary>A client for the service, pooled connections, 30 s per request.</summary>
    public HttpClient Client { get; }

    /// <summary>The last lines the service printed, for error messages.</summary>
    public string RecentOutput => string.Join(Environment.NewLine, _output);

    /// <summary>Each distinct warning or error the service logged ("level: category[event]: message"), with how often.</summary>
    public IReadOnlyList<(string Line, int Count)> Warnings => [.. _warnings.Select(w => (w.Key, w.Value)).OrderByDescending(w => w.Value)];

    /// <summary>The service's dll as built next to the driver (recorded at build time), or <see langword="null"/>.</summary>
    public static string? BuiltAssembly => typeof(ServiceProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "ReferenceServiceAssembly")?.Value is { Length: > 0 } path ? path : null;

    /// <summary>Starts the service and returns once <c>/stats</c> answers (the service is seeded and listening).</summary>
    /// <param name="cache"><see langword="null"/>: <c>--cache off</c> (the library's disabled mode); else that server.</param>
    /// <param name="assemblyPath">The service's dll; <see langword="null"/>: <see cref="BuiltAssembly"/>.</param>
    /// <param name="settings">More environment variables for the service (its options, e.g. <c>BendCareCache__*</c>).</param>
    public static async Task<ServiceProcess> StartAsync(
        CacheServer? cache, string? assemblyPath, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        string dll = assemblyPath ?? BuiltAssembly ?? throw new InvalidOperationException("The reference service's dll is not recorded in this build; pass --service-dll.");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"The reference service is not built at {dll}: build the solution (or this project) first, or pass --service-dll.", dll);
        }

        int port = RedisServer.GetFreePort();
        var directory = Directory.CreateTempSubdirectory("bendcare-load-");
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (string argument in new[] { dll, "--urls", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "--cache", cache is null ? "off" : "on" })
        {
            info.ArgumentList.Add(argument);
        }

        foreach (string name in OwnSettings)
        {
            info.Environment.Remove(name);
        }

        info.Environment["Database__Path"] = Path.Combine(directory.FullName, "rbac.db");
        // Each query is logged at Information; a load run wants only warnings (the library's state changes among them).
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        if (cache is not null)
        {
            info.Environment["REDIS_HOST"] = cache.Host;
            info.Environment["REDIS_PORT"] = cache.Port.ToString(CultureInfo.InvariantCulture);
            if (cache.Password is not null)
            {
                info.Environment["REDIS_PASSWORD"] = cache.Password;
            }

            info.Environment["BendCareCache__KeyPrefix"] = cache.KeyPrefix;
        }

        foreach (var (name, value) in settings)
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName} {dll}.");
        var service = new ServiceProcess(process, directory, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"));
        process.OutputDataReceived += (_, e) => service.Keep(e.Data, logLines: true);
        process.ErrorDataReceived += (_, e) => service.Keep(e.Data, logLines: false);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await service.WaitUntilServingAsync(TimeSpan.FromSeconds(60), cancellationToken);
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }

    private async Task WaitUntilServingAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The reference service exited with {_process.ExitCode} before serving. Output:{Environment.NewLine}{RecentOutput}");
            }

            try
            {
                using var response = await Client.GetAsync(new Uri("stats", UriKind.Relative), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (deadline.Elapsed > limit)
            {
                throw new TimeoutException($"The reference service did not answer /stats within {limit.TotalSeconds:0} s. Output:{Environment.NewLine}{RecentOutput}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    // Called for one stream at a time; only standard output (the console logger's) is read for log lines.
    private void Keep(string? line, bool logLines)
    {
        if (line is null)
        {
            return;
        }

        if (logLines)
        {
            CountWarning(line);
        }

        _output.Enqueue(line);
        while (_output.Count > OutputLines && _output.TryDequeue(out _))
        {
        }
    }

    private void CountWarning(string line)
    {
        // The console logger writes "warn: Category[id]" and then the message, indented, on the next line.
        if (_levelLine is { } level)
        {
            _levelLine = null;
            string message = line.Trim();
            _warnings.AddOrUpdate($"{level}: {(message.Length > 240 ? message[..240] + " ..." : message)}", 1, static (_, n) => n + 1);
        }
        else if (line.StartsWith("warn: ", StringComparison.Ordinal) || line.StartsWith("fail: ", StringComparison.Ordinal) || line.StartsWith("crit: ", StringComparison.Ordinal))
        {
            _levelLine = line;
        }
    }

    /// <summary>The <c>dotnet</c> host that runs this process's runtime (so the service runs on the same one).</summary>
    private static string DotnetHost()
    {
        string executable = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } fromSdk && File.Exists(fromSdk))
        {
            return fromSdk;
        }

        // <root>/shared/Microsoft.NETCore.App/<version>/
        string root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        string candidate = Path.Combine(root, executable);
        return File.Exists(candidate) ? candidate : executable;
    }
}
