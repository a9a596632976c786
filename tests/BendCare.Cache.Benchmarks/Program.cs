using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BendCare.Cache.Benchmarks;

// Usage (from the repository root):
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --filter '*'            full run (~2.5-4 min)
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --quick --filter '*'    smoke run (~30 s)
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --library-first --filter '*'   control: library before baseline
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --alloc                 per-call allocation breakdown
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --paired                interleaved A/B timing (noise-robust)
//   dotnet run -c Release --project tests/BendCare.Cache.Benchmarks -- --concurrent            hit throughput, 32 concurrent callers, A/B
// Any other BenchmarkDotNet argument (--filter '*hit*', --inProcess, --exporters json, ...) is passed through.
if (args.Contains("--alloc"))
{
    return await AllocationBreakdown.RunAsync();
}

if (args.Contains("--paired"))
{
    return await PairedComparison.RunAsync(rounds: 40, blockCalls: 2000);
}

if (args.Contains("--concurrent"))
{
    return await ConcurrentComparison.RunAsync(callers: 32, rounds: 10, block: TimeSpan.FromMilliseconds(500));
}

bool quick = args.Contains("--quick");
bool libraryFirst = args.Contains("--library-first");
string[] rest = args.Where(static a => a is not "--quick" and not "--library-first").ToArray();

var job = quick
    ? Job.Default.WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3).WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250)).WithId("Quick")
    : Job.Default.WithLaunchCount(2).WithWarmupCount(3).WithIterationCount(15).WithId("Bench");

// Median next to Mean: on a shared 2-core machine a burst of foreign load skews a mean more than a median.
IConfig config = DefaultConfig.Instance.AddJob(job.AsDefault()).AddColumn(StatisticColumn.Median);
if (libraryFirst)
{
    config = ((ManualConfig)config).WithOrderer(new LibraryFirstOrderer());
}

BenchmarkSwitcher.FromAssembly(typeof(UserContextBenchmarks).Assembly).Run(rest.Length == 0 ? ["--filter", "*"] : rest, config);
return 0;
