using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using BendCare.Cache.Benchmarks;

// Usage (from the repository root):
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --filter '*'            full run (~3-5 min)
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --quick --filter '*'    smoke run (~1 min)
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --alloc                 per-call allocation breakdown
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --paired                interleaved A/B timing (noise-robust)
// Any other BenchmarkDotNet argument (--filter '*hit*', --inProcess, --exporters json, ...) is passed through.
if (args.Contains("--alloc"))
{
    return await AllocationBreakdown.RunAsync();
}

if (args.Contains("--probe"))
{
    return await Probe.RunAsync();
}

if (args.Contains("--paired"))
{
    return await PairedComparison.RunAsync(rounds: 40, blockCalls: 2000);
}

bool quick = args.Contains("--quick");
string[] rest = args.Where(static a => a != "--quick").ToArray();

var job = quick
    ? Job.Default.WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3).WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250)).WithId("Quick")
    : Job.Default.WithLaunchCount(2).WithWarmupCount(3).WithIterationCount(15).WithId("Bench");

if (Environment.GetEnvironmentVariable("BENCH_IN_PROCESS") == "1")
{
    job = job.WithToolchain(InProcessEmitToolchain.Instance);
}

var config = DefaultConfig.Instance.AddJob(job.AsDefault());
BenchmarkSwitcher.FromAssembly(typeof(UserContextBenchmarks).Assembly).Run(rest.Length == 0 ? ["--filter", "*"] : rest, config);
return 0;
