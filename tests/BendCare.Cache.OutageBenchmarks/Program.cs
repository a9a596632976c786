using System.Diagnostics;
using System.Runtime.InteropServices;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.OutageBenchmarks;

// Outage load harness. From the repository root:
//   dotnet run -c Release --project tests/BendCare.Cache.OutageBenchmarks                  every fault, both clients (~4.5 min)
//   dotnet run -c Release --project tests/BendCare.Cache.OutageBenchmarks -- --quick       fewer calls, shorter holds (~3 min)
//   ... -- --fault delay,kill          only these faults (names below; "healthy" is the no-fault reference)
//   ... -- --client bendcare           only BendCare.Cache (or: plain)
//   ... -- --hold 6 --out results.md   minimum fault duration in seconds (+ 0-1 s at random); also write the report to a file
//   ... -- --invalidate                invalidate a user context during each fault: recovery includes the replay
//   ... -- --repeat 3 --seed 7         3 fresh BendCare instances per fault and mode (more recovery samples); jitter seed
//   ... -- --verbose / --diagnose      state-log timeline of every run / plus StackExchange.Redis' own log lines
//   ... -- --se-heartbeat-ms 200 --se-reconnect-max-ms 500   experiment: BendCare with a faster StackExchange.Redis
//                                      heartbeat / reconnect back-off (set through ConfigureConnection; NOT the defaults)
// Needs redis-server (or valkey-server) on PATH; every server and proxy is on loopback, started by this process and
// stopped by its own process id. Writes progress to stderr and the Markdown report to stdout.
var total = Stopwatch.StartNew();
string loadBefore = LoadAverage();
var settings = args.Contains("--quick") ? Settings.ForQuick() : new Settings();
string? outFile = null;
bool verbose = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--quick":
            break; // applied before the other options
        case "--fault":
            settings = settings with { Faults = Names(args[++i]) };
            break;
        case "--client":
            settings = settings with
            {
                Clients = args[++i].ToLowerInvariant() switch
                {
                    "bendcare" => [ClientKind.BendCare],
                    "plain" => [ClientKind.Plain],
                    "both" => [ClientKind.BendCare, ClientKind.Plain],
                    var other => throw new ArgumentException($"--client {other}: use bendcare, plain or both"),
                },
            };
            break;
        case "--hold":
            settings = settings with { Hold = TimeSpan.FromSeconds(double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture)) };
            break;
        case "--se-heartbeat-ms":
            settings = settings with { HeartbeatMs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) };
            break;
        case "--se-reconnect-max-ms":
            settings = settings with { ReconnectMaxMs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) };
            break;
        case "--repeat":
            settings = settings with { Repeat = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) };
            break;
        case "--seed":
            settings = settings with { Seed = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture) };
            break;
        case "--verbose":
            verbose = true;
            break;
        case "--invalidate":
            settings = settings with { InvalidateDuringFault = true };
            break;
        case "--diagnose":
            verbose = true;
            settings = settings with { Diagnose = true };
            break;
        case "--out":
            outFile = args[++i];
            break;
        case "--help" or "-h":
            Console.WriteLine("options: --quick | --fault NAME[,NAME] | --client bendcare|plain|both | --hold SECONDS | --repeat N | --seed N | --invalidate (one invalidation during each fault, replayed on recovery) | --out FILE | --verbose (state log timeline per run) | --diagnose (also StackExchange.Redis' log lines)");
            Console.WriteLine("experiments (not the library defaults): --se-heartbeat-ms N | --se-reconnect-max-ms N (BendCare's StackExchange.Redis heartbeat / reconnect back-off cap)");
            Console.WriteLine("faults: " + string.Join(", ", Fault.All.Select(static f => $"{f.Name} ({f.Description})")));
            return 0;
        default:
            Console.Error.WriteLine($"unknown option {args[i]}; try --help");
            return 2;
    }
}

string command = "dotnet run -c Release --project tests/BendCare.Cache.OutageBenchmarks" + (args.Length == 0 ? "" : " -- " + string.Join(' ', args));
Progress($"{command}");
Progress($"faults: {string.Join(", ", settings.Faults)}; clients: {string.Join(", ", settings.Clients)}");

await using var shared = await RedisServer.StartAsync(new RedisServerOptions { Kind = RedisServerKind.Binary });
string machine = $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}, Release; "
    + $"{shared.ToString().Split(" pid ")[0]}; every server, proxy and client on 127.0.0.1 in one process (the servers are child processes)";
machine += $"; library: {LibraryVersion()}";
var harness = new Harness(settings, shared);
Progress("warm-up and loader-only baseline");
await harness.WarmUpAndBaselineAsync();

var results = new List<RunResult>();
foreach (string fault in settings.Faults)
{
    foreach (var client in settings.Clients)
    {
        Mode[][] runs = client == ClientKind.BendCare
            ? [.. Enumerable.Repeat<Mode[][]>([[Mode.Sequential], [Mode.Concurrent]], settings.Repeat).SelectMany(static r => r)]
            : [[Mode.Sequential, Mode.Concurrent]];
        foreach (var modes in runs)
        {
            var started = Stopwatch.StartNew();
            var result = await harness.RunAsync(fault, client, modes);
            results.Add(result);
            if (verbose)
            {
                Progress($"  hold {result.HoldFor.TotalSeconds:F2} s; removed at {(result.RemovedAt is { } rm ? $"{Stopwatch.GetElapsedTime(result.FaultAt, rm).TotalSeconds:F3} s" : "-")}; first hit at {(result.FirstHitAt is { } fh ? $"{Stopwatch.GetElapsedTime(result.FaultAt, fh).TotalSeconds:F3} s" : "-")}");
                foreach (var log in result.Logs)
                {
                    Progress($"  {Stopwatch.GetElapsedTime(result.FaultAt, log.Timestamp).TotalSeconds,8:F3} s  {(log.IsLibrary ? "lib" : "SE.Redis")} {log.EventId} {log.Level}: {log.Message}");
                }
            }
            Progress($"{fault,-20} {client,-8} {string.Join('+', modes),-21} {started.Elapsed.TotalSeconds,5:F1} s  recovery {(result.RecoverySeconds is { } r ? $"{r:F2} s" : "-")}  (total {total.Elapsed.TotalSeconds:F0} s)");
        }
    }
}

machine += $"; load average (1/5/15 min) {loadBefore} at start, {LoadAverage()} at end";
var report = Report.Render(settings, command, machine, harness.Baseline, results, total.Elapsed);
Console.WriteLine(report);
if (outFile is not null)
{
    await File.WriteAllTextAsync(outFile, report);
    Progress($"report written to {outFile}");
}

Progress($"done in {total.Elapsed.TotalSeconds:F0} s");
return 0;

static IReadOnlyList<string> Names(string list)
{
    var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    var unknown = names.Where(n => Fault.All.All(f => f.Name != n)).ToArray();
    return unknown.Length == 0
        ? names
        : throw new ArgumentException($"unknown fault(s) {string.Join(", ", unknown)}; known: {string.Join(", ", Fault.All.Select(static f => f.Name))}");
}

// The library is built from the working tree: say which commit, and whether src/ had uncommitted changes.
static string LibraryVersion()
{
    try
    {
        string head = Git("rev-parse --short HEAD").Trim();
        bool dirty = Git("status --porcelain -- src").Trim().Length > 0;
        return $"commit {head}{(dirty ? " + uncommitted changes in src/" : "")}";
    }
    catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
    {
        return "unknown (git not available)";
    }
}

static string Git(string arguments)
{
    var start = new ProcessStartInfo("git", arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    using var git = Process.Start(start) ?? throw new InvalidOperationException("git did not start");
    string output = git.StandardOutput.ReadToEnd();
    git.WaitForExit();
    return git.ExitCode == 0 ? output : throw new InvalidOperationException($"git {arguments} failed");
}

static string LoadAverage()
{
    try
    {
        return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "unknown";
    }
}

static void Progress(string message) => Console.Error.WriteLine($"[harness] {message}");
