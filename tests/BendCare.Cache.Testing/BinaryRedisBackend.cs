using System.Collections.Concurrent;
using System.Diagnostics;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>
/// A <c>redis-server</c>/<c>valkey-server</c> child process on a loopback port, in its own temp dir, without persistence.
/// Stopped only by killing its own process id; the temp dir is deleted on dispose.
/// </summary>
internal sealed class BinaryRedisBackend : IRedisServerBackend
{
    private const int MaxOutputLines = 200;
    private const int StartAttempts = 5;

    private static readonly ConcurrentDictionary<BinaryRedisBackend, byte> Live = new();
    private static readonly ConcurrentDictionary<string, string> Versions = new(StringComparer.Ordinal);

    private readonly Lock _lock = new();
    private readonly string _binary;
    private readonly RedisServerOptions _options;
    private readonly bool _portFixed;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;
    private string? _directory;
    private bool _everStarted;
    private bool _disposed;

    static BinaryRedisBackend()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var backend in Live.Keys)
            {
                backend.KillProcessNow();
                backend.DeleteDirectory();
            }
        };
    }

    public BinaryRedisBackend(string binary, RedisServerOptions options)
    {
        _binary = binary;
        _options = options;
        _portFixed = options.Port is not null;
        Port = options.Port ?? RedisServer.GetFreePort();
    }

    public RedisServerKind Kind => RedisServerKind.Binary;

    public string Host => "127.0.0.1";

    public int Port { get; private set; }

    public string? Password => FindArgument("--requirepass");

    public bool CanRestart => true;

    public bool IsRunning
    {
        get
        {
            lock (_lock)
            {
                return _process is { HasExited: false };
            }
        }
    }

    /// <summary>PID of the running server process, or null.</summary>
    public int? ProcessId
    {
        get
        {
            lock (_lock)
            {
                return _process is { HasExited: false } p ? p.Id : null;
            }
        }
    }

    public string RecentOutput => string.Join(Environment.NewLine, _output);

    /// <summary>First <c>redis-server</c> or <c>valkey-server</c> on PATH, or null.</summary>
    public static string? FindBinary()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var name in new[] { "redis-server", "valkey-server" })
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

    public string Describe() =>
        $"{Path.GetFileName(_binary)} ({Version(_binary)}) pid {ProcessId?.ToString() ?? "-"} at {Host}:{Port}"
        + (_options.Tls ? " (TLS)" : string.Empty)
        + (_options.ExtraArgs.Count > 0 ? $" args [{string.Join(' ', _options.ExtraArgs)}]" : string.Empty);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsRunning)
        {
            return;
        }

        lock (_lock)
        {
            _directory ??= Directory.CreateTempSubdirectory("bendcare-redis-").FullName;
        }

        Live.TryAdd(this, 0);
        var firstStart = !_everStarted;
        for (var attempt = 1; ; attempt++)
        {
            var process = Launch();
            var ready = await ServerProbe.WaitUntilAnswersAsync(
                Host, Port, _options.Tls, _options.StartTimeout, () => !process.HasExited, cancellationToken);
            if (ready)
            {
                _everStarted = true;
                return;
            }

            var exited = process.HasExited;
            var portTaken = RecentOutput.Contains("Address already in use", StringComparison.OrdinalIgnoreCase);
            KillProcessNow();
            if (attempt >= StartAttempts || !portTaken)
            {
                var why = exited ? "exited before answering" : $"did not answer within {_options.StartTimeout.TotalSeconds:0}s";
                throw new InvalidOperationException(
                    $"{Path.GetFileName(_binary)} on {Host}:{Port} {why} (attempt {attempt}). Output:{Environment.NewLine}{RecentOutput}");
            }

            if (portTaken && firstStart && !_portFixed)
            {
                // Someone grabbed the port between GetFreePort and bind: take another one.
                Port = RedisServer.GetFreePort();
            }
            else
            {
                // Restart on the same port: give the kernel a moment and try again.
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
        }
    }

    public async Task KillAsync()
    {
        Process? process;
        lock (_lock)
        {
            process = _process;
            _process = null;
        }

        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(cts.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or it will be reaped by the OS.
        }
        finally
        {
            process.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await KillAsync();
        DeleteDirectory();
        Live.TryRemove(this, out _);
    }

    private Process Launch()
    {
        var info = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
            WorkingDirectory = _directory!,
        };

        if (_options.Tls)
        {
            Add(info, "--port", "0");
            Add(info, "--tls-port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            Add(info, "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Add(info, "--bind", "127.0.0.1");
        Add(info, "--dir", _directory!);
        Add(info, "--save", string.Empty);
        Add(info, "--appendonly", "no");
        Add(info, "--daemonize", "no");
        Add(info, "--logfile", string.Empty);
        foreach (var arg in _options.ExtraArgs)
        {
            info.ArgumentList.Add(arg);
        }

        _output.Clear();
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _process?.Dispose(); // one that exited on its own
            process.Start();
            _process = process;
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;

        static void Add(ProcessStartInfo info, string name, string value)
        {
            info.ArgumentList.Add(name);
            info.ArgumentList.Add(value);
        }
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > MaxOutputLines && _output.TryDequeue(out _))
        {
        }
    }

    private void KillProcessNow()
    {
        Process? process;
        lock (_lock)
        {
            process = _process;
            _process = null;
        }

        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
        finally
        {
            process.Dispose();
        }
    }

    private void DeleteDirectory()
    {
        string? directory;
        lock (_lock)
        {
            directory = _directory;
            _directory = null;
        }

        if (directory is null)
        {
            return;
        }

        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private string? FindArgument(string name)
    {
        string? value = null;
        for (var i = 0; i < _options.ExtraArgs.Count - 1; i++)
        {
            if (string.Equals(_options.ExtraArgs[i], name, StringComparison.OrdinalIgnoreCase))
            {
                value = _options.ExtraArgs[i + 1];
            }
        }

        return value;
    }

    private static string Version(string binary) =>
        Versions.GetOrAdd(binary, static b =>
        {
            try
            {
                using var process = Process.Start(new ProcessStartInfo(b, "--version")
                {
                    RedirectStandardOutput = true,
                    UseShellExecute = false,
                })!;
                var text = process.StandardOutput.ReadToEnd().Trim();
                if (!process.WaitForExit(5000))
                {
                    process.Kill();
                }

                return text.Length > 0 ? text : "unknown version";
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                return "unknown version";
            }
        });
}
