using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.LoadHarness;

// One command, tables on standard output (markdown), servers started and killed by this process:
//   dotnet run -c Release --project tests/BendCare.Cache.LoadHarness
// Options:
//   --servers redis,garnet   which servers (redis-server from PATH; Garnet in a process of its own; garnet-embedded:
//                            Garnet inside this process), default redis,garnet
//   --only hit,l1,miss,saturation,invalidation   which parts, default all
//   --callers 32  --rounds 3  --block-ms 400  --keys 1000
//   --saturation-seconds 8  --pool-hogs 8  --hog-threads 4   the saturated run (thread pool blocked, then CPU busy)
//   --no-peers               the Redis hit table without FusionCache and HybridCache (library against the baseline only)
//   --only profile --subject baseline|library --seconds 20   one subject's hits alone for a profiler to sample (never
//                            part of a default run): e.g. perf record -g with DOTNET_PerfMapEnabled=1
if (args is [GarnetProcess.ServeArgument, ..])
{
    return await GarnetProcess.ServeAsync();
}

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = HarnessOptions.Parse(args);
Console.WriteLine($"# BendCare.Cache load harness: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {options.Callers} callers, {options.Keys} keys, {options.Rounds} rounds of forward+reverse blocks of {options.Block.TotalMilliseconds:F0} ms");
Console.WriteLine();

foreach (string kind in options.Servers)
{
    // "garnet": Garnet in a process of its own, like redis-server; "garnet-embedded": in this process (for reference).
    await using var garnet = kind == "garnet" ? await GarnetProcess.StartAsync() : null;
    await using var ownServer = garnet is null
        ? await RedisServer.StartAsync(new RedisServerOptions { Kind = kind == "garnet-embedded" ? RedisServerKind.Garnet : RedisServerKind.Binary })
        : null;
    var server = garnet?.Server ?? ownServer!;
    Console.WriteLine($"## {(garnet is null ? server.ToString() : garnet.ToString())}");
    Console.WriteLine();
    var runner = new Runner(options.Keys, options.Block, options.Rounds);

    if (options.Profile is not null || options.Wants("hit") || options.Wants("l1") || options.Wants("miss"))
    {
        await using var subjects = await Subjects.CreateAsync(server, options.Keys);
        Console.WriteLine($"value: {subjects.ValueBytes} bytes of JSON");
        Console.WriteLine();
        if (options.Profile is { } profiled)
        {
            Subject subject = profiled == "library" ? subjects.LibraryHit : subjects.Baseline;
            Subjects.Progress($"profiling {subject.Name}: {options.Callers} callers for {options.ProfileDuration.TotalSeconds:F0} s");
            await new Runner(options.Keys, options.ProfileDuration, rounds: 1).RunAsync([subject], options.Callers, sampleMask: 0);
            Console.WriteLine($"{subject.Name}: {subject.For(options.Callers).OpsPerSecond.Average():N0} ops/s");
            continue;
        }

        if (options.Wants("hit"))
        {
            Subject[] hitSubjects = options.Peers ? [subjects.Baseline, subjects.LibraryHit, subjects.FusionRedis, subjects.HybridRedis] : [subjects.Baseline, subjects.LibraryHit];
            await HitTableAsync(runner, "Hit through Redis", hitSubjects, options.Callers, concurrentMask: 0, "every call timed");
        }

        if (options.Wants("l1"))
        {
            await HitTableAsync(runner, "Hit in the in-process L1", [subjects.HybridL1Immutable, subjects.LibraryL1, subjects.FusionL1, subjects.HybridL1], options.Callers, concurrentMask: 15, $"{options.Callers} callers: every 16th call timed (two clock reads cost more than an L1 hit); 1 caller: every call");
        }

        if (options.Wants("miss"))
        {
            MissSubject[] misses = [subjects.BaselineMiss, subjects.LibraryMiss];
            string load = Report.LoadAverage();
            subjects.LibraryMiss.DrainWriteBacks = true;
            Subjects.Progress("miss");
            await runner.RunAsync(misses, 1, sampleMask: 0);
            subjects.LibraryMiss.DrainWriteBacks = false;
            await runner.RunAsync(misses, options.Callers, sampleMask: 0);
            Report.MissTable(subjects.BaselineMiss, subjects.LibraryMiss, options.Callers, load);
        }
    }

    if (options.Wants("saturation"))
    {
        await Saturation.RunAsync(server, options);
    }

    if (options.Wants("invalidation"))
    {
        await InvalidationWait.RunAsync(server, options);
    }
}

return 0;

// Both modes of one table, then the table: the concurrent callers first, then the sequential one.
static async Task HitTableAsync(Runner runner, string title, Subject[] subjects, int callers, long concurrentMask, string sampling)
{
    string load = Report.LoadAverage();
    Subjects.Progress(title);
    await runner.RunAsync(subjects, callers, concurrentMask);
    await runner.RunAsync(subjects, 1, sampleMask: 0);
    Report.HitTable(title, subjects, callers, load, sampling);
}

namespace BendCare.Cache.LoadHarness
{
    internal sealed record HarnessOptions(string[] Servers, string[] Parts, int Callers, int Rounds, TimeSpan Block, int Keys, TimeSpan SaturationDuration, int HogThreads, int PoolHogs, string? Profile, TimeSpan ProfileDuration, bool Peers)
    {
        public bool Wants(string part) => Parts.Length == 0 || Parts.Contains(part);

        public static HarnessOptions Parse(string[] args)
        {
            string? Value(string name)
            {
                int i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
            }

            int Int(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
            string[] List(string name) => Value(name)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];

            var servers = List("--servers");
            if (servers.FirstOrDefault(s => s is not ("redis" or "garnet" or "garnet-embedded")) is { } unknown)
            {
                throw new ArgumentException($"Unknown server '{unknown}': redis, garnet or garnet-embedded.");
            }

            string[] parts = List("--only");
            string? profile = null;
            if (parts.Contains("profile"))
            {
                profile = Value("--subject") ?? "library";
                if (profile is not ("library" or "baseline"))
                {
                    throw new ArgumentException($"Unknown subject '{profile}': library or baseline.");
                }
            }

            return new HarnessOptions(
                servers.Length == 0 ? ["redis", "garnet"] : servers,
                parts,
                Int("--callers", 32),
                Int("--rounds", 3),
                TimeSpan.FromMilliseconds(Int("--block-ms", 400)),
                Int("--keys", 1000),
                TimeSpan.FromSeconds(Int("--saturation-seconds", 8)),
                Int("--hog-threads", 4),
                Int("--pool-hogs", 8),
                profile,
                TimeSpan.FromSeconds(Int("--seconds", 20)),
                !args.Contains("--no-peers"));
        }
    }
}
