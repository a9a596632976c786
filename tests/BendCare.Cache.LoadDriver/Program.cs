using System.Globalization;
using BendCare.Cache.LoadDriver.Plot;
using BendCare.Cache.LoadDriver.Runs;
using BendCare.Cache.LoadDriver.Traffic;

// Load driver for the reference service. From the repository root:
//   dotnet run -c Release --project tests/BendCare.Cache.LoadDriver -- --compare
//       cache off, then cache on: database queries per request at steady state, requests/s, failures, reduction
//   dotnet run -c Release --project tests/BendCare.Cache.LoadDriver -- --outage --plot docs/images/outage-run.png
//       cache on, Redis killed (kill -9) mid-run and started again on the same port; /stats sampled every 500 ms
// Needs redis-server (or valkey-server) on PATH (or --redis host:port for --compare) and, for --plot, Debian's
// chromium. Everything listens on 127.0.0.1 and is stopped by this process. Progress goes to stderr, the Markdown
// report to stdout (and to --out FILE). Exit code: 0 when no request failed (and, for --compare, the target was met).
var traffic = new TrafficOptions();
var host = new HostOptions();
var phases = new OutagePhases();
var warmup = TimeSpan.FromSeconds(30);
var measure = TimeSpan.FromSeconds(60);
double target = 0.95;
string mode = "compare";
string? plot = null;
string? outFile = null;
bool rateGiven = false;

try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        double Number() => double.Parse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture);
        TimeSpan Seconds() => TimeSpan.FromSeconds(Number());
        switch (args[i])
        {
            case "--compare":
                mode = "compare";
                break;
            case "--outage":
                mode = "outage";
                break;
            case "--plot":
                plot = Next();
                break;
            case "--out":
                outFile = Next();
                break;
            case "--vus":
                traffic = traffic with { VirtualUsers = (int)Number() };
                break;
            case "--rate":
                traffic = traffic with { RequestsPerSecond = Number() };
                rateGiven = true;
                break;
            case "--users":
                traffic = traffic with { Users = (int)Number() };
                break;
            case "--zipf":
                traffic = traffic with { ZipfExponent = Number() };
                break;
            case "--session-minutes":
                traffic = traffic with { MeanSession = TimeSpan.FromMinutes(Number()) };
                break;
            case "--logout-share":
                traffic = traffic with { LogoutShare = Number() };
                break;
            case "--user-edit-every":
                traffic = traffic with { UserEditEvery = Seconds() };
                break;
            case "--role-edit-every":
                traffic = traffic with { RoleEditEvery = Seconds() };
                break;
            case "--off-permission-share":
                traffic = traffic with { OffPermissionShare = Number() };
                break;
            case "--seed":
                traffic = traffic with { Seed = (int)Number() };
                break;
            case "--warmup":
                warmup = Seconds();
                phases = phases with { Warmup = warmup };
                break;
            case "--measure":
                measure = Seconds();
                break;
            case "--target":
                target = Number() / 100;
                break;
            case "--before":
                phases = phases with { Before = Seconds() };
                break;
            case "--down":
                phases = phases with { Down = Seconds() };
                break;
            case "--after":
                phases = phases with { After = Seconds() };
                break;
            case "--redis":
                host = host with { RedisEndpoint = Next() };
                break;
            case "--service-setting":
                string setting = Next();
                int equals = setting.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new ArgumentException($"--service-setting takes NAME=VALUE; got '{setting}'");
                }

                host = host with { ServiceSettings = new Dictionary<string, string>(host.ServiceSettings, StringComparer.Ordinal) { [setting[..equals]] = setting[(equals + 1)..] } };
                break;
            case "--service-dll":
                host = host with { ServiceAssembly = Next() };
                break;
            case "--help" or "-h":
                Console.WriteLine("""
                    --compare (default)      cache off, then on: queries per request at steady state, reduction, req/s, failures
                      --warmup S (30) --measure S (60) --target PERCENT (95)
                    --outage                 cache on; Redis kill -9'd and restarted on the same port; no request may fail
                      --warmup S (10) --before S (20) --down S (20) --after S (40) --plot FILE.png; --rate defaults to 2000 here
                    traffic: --vus N (32) --rate R (0: as fast as answered) --users N (1000) --zipf S (1) --session-minutes M (10) --logout-share F (0.5)
                             --user-edit-every S (5) --role-edit-every S (30; 0: never) --off-permission-share F (0.05) --seed N (1)
                    hosts:   --redis host:port[,password=..] (compare only; default: a redis-server of its own from PATH)
                             --service-dll PATH (default: the one built with this driver)
                             --service-setting NAME=VALUE (repeatable): an environment variable for the service, e.g.
                               BendCareCache__TokenNotBlacklistedTtl=00:05:00
                    --out FILE               also write the Markdown report to FILE
                    """);
                return 0;
            default:
                throw new ArgumentException($"unknown option {args[i]}; try --help");
        }
    }

    if (mode == "outage" && !rateGiven)
    {
        // A service is not run at the edge of its CPU: paced, the plot shows what the outage does, not the machine's noise.
        traffic = traffic with { RequestsPerSecond = OutagePhases.DefaultRequestsPerSecond };
    }

    traffic.Validate();
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // stop in order: the service and Redis are killed by their own process ids on the way out
    cancel.Cancel();
};

var progress = Console.Error;
progress.WriteLine($"load average at start: {BendCare.Cache.LoadDriver.Measuring.Machine.LoadAverage()}");
string report;
bool passed;
if (mode == "compare")
{
    var off = await CompareRun.MeasureAsync(cacheOn: false, traffic, host, warmup, measure, progress, cancel.Token);
    var on = await CompareRun.MeasureAsync(cacheOn: true, traffic, host, warmup, measure, progress, cancel.Token);
    report = Report.Compare(off, on, traffic, host, warmup, measure, target);
    passed = off.Total.Failures == 0 && on.Total.Failures == 0 && 1 - on.Window.QueriesPerRequest / off.Window.QueriesPerRequest >= target;
}
else
{
    var run = await OutageRun.RunAsync(traffic, host, phases, progress, cancel.Token);
    if (plot is not null)
    {
        await Screenshot.SavePngAsync(OutagePlot.Svg(run), OutagePlot.Width, OutagePlot.Height, plot);
        progress.WriteLine($"[outage] plot written to {plot}");
    }

    report = Report.Outage(run, plot);
    passed = run.Total.Failures == 0 && run.SamplerErrors == 0;
}

Console.Write(report);
if (outFile is not null)
{
    await File.WriteAllTextAsync(outFile, report);
}

return passed ? 0 : 1;
