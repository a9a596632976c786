using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>The history checker runs alone: it is timing-sensitive and kills its own server.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HistoryCheckerGroup
{
    /// <summary>The collection name.</summary>
    public const string Name = "history";
}

/// <summary>
/// Randomized histories: several instances, seeded concurrent reads, writes and faults, checked against the
/// invariants of <see cref="InvariantChecker"/>. CI runs a fixed budget of seeds; <c>BENDCARE_HISTORY_SEED</c> replays
/// one seed, <c>BENDCARE_HISTORY_SEEDS</c> (how many, from 1) and <c>BENDCARE_HISTORY_SECONDS</c> (per seed) make it a soak.
/// </summary>
[Collection(HistoryCheckerGroup.Name)]
public sealed class HistoryCheckerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int DefaultSeeds = 8;
    private const double DefaultSeconds = 3;
    private RedisServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await RedisServer.StartAsync(new RedisServerOptions { RequireRestartable = true });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Randomized_histories_keep_every_invariant()
    {
        var (seeds, duration) = Settings();
        output.WriteLine($"history checker: seeds {string.Join(',', seeds)}, {duration.TotalSeconds} s each, server {_server}");
        var failed = new List<HistoryRunReport>();
        foreach (int seed in seeds)
        {
            var options = new HistoryRunOptions { Seed = seed, Duration = duration, Kills = _server.CanRestart };
            var report = await HistoryRunner.RunAsync(options, _server, new LibraryHistoryTarget());
            output.WriteLine(report.Summary());
            if (report.Violations.Count > 0)
            {
                failed.Add(report);
            }
        }

        Assert.True(
            failed.Count == 0,
            $"Invariants broken on seed(s) {string.Join(", ", failed.Select(f => f.Seed))} (replay one with BENDCARE_HISTORY_SEED=<seed>):{Environment.NewLine}"
            + string.Join(Environment.NewLine, failed.Select(f => f.Summary(maxViolations: 1))));
    }

    [Fact]
    public async Task Randomized_histories_with_every_type_in_l1_keep_every_invariant()
    {
        // Half the seeds of the run above (CI time), with subscription kills and messages lost to a full output buffer.
        var (seeds, duration) = Settings(defaultSeeds: DefaultSeeds / 2);
        output.WriteLine($"history checker with L1: seeds {string.Join(',', seeds)}, {duration.TotalSeconds} s each, server {_server}");
        var all = LocalCacheTypes.UserContext | LocalCacheTypes.RolePermissions | LocalCacheTypes.UserBasic | LocalCacheTypes.TokenBlacklist | LocalCacheTypes.JwtPayload;
        var failed = new List<HistoryRunReport>();
        foreach (int seed in seeds)
        {
            var options = new HistoryRunOptions { Seed = seed, Duration = duration, Kills = _server.CanRestart, LocalCache = true };
            var report = await HistoryRunner.RunAsync(options, _server, new LibraryHistoryTarget(all));
            output.WriteLine(report.Summary());
            if (report.Violations.Count > 0)
            {
                failed.Add(report);
            }
        }

        Assert.True(
            failed.Count == 0,
            $"Invariants broken with L1 on seed(s) {string.Join(", ", failed.Select(f => f.Seed))} (replay one with BENDCARE_HISTORY_SEED=<seed>):{Environment.NewLine}"
            + string.Join(Environment.NewLine, failed.Select(f => f.Summary(maxViolations: 1))));
    }

    [Fact]
    public async Task The_checker_catches_a_fire_and_forget_l1()
    {
        // No faults: what is caught is the in-memory layer's own race (a read begun before an invalidation installs its
        // value after the backplane message was handled, or a read elsewhere before the message arrives).
        int[] seeds = [1, 2];
        int freshness = 0;
        foreach (int seed in seeds)
        {
            var options = new HistoryRunOptions { Seed = seed, Duration = TimeSpan.FromSeconds(2), Faults = false, CheckQuiescence = false };
            var report = await HistoryRunner.RunAsync(options, _server, new FireAndForgetL1HistoryTarget());
            output.WriteLine(report.Summary(maxViolations: 1));
            freshness += report.Violations.Count(v => v.Invariant.StartsWith("1 ", StringComparison.Ordinal) || v.Invariant.StartsWith("2 ", StringComparison.Ordinal));
        }

        Assert.True(freshness > 0, "The checker did not catch a fire-and-forget in-process cache serving stale values.");
    }

    [Fact]
    public async Task The_checker_catches_a_naive_get_load_set_cache()
    {
        // Fixed seeds, no faults: the naive cache fails on its own races (a slow load writes back after a DEL), so
        // what is asserted is the freshness check, not exceptions from faults. Each seed alone caught it when this
        // was written (19 to 37 violations per 3 s); two keep the assertion deterministic enough.
        int[] seeds = [1, 2];
        int freshness = 0;
        foreach (int seed in seeds)
        {
            var options = new HistoryRunOptions { Seed = seed, Duration = TimeSpan.FromSeconds(2), Faults = false, CheckQuiescence = false };
            var report = await HistoryRunner.RunAsync(options, _server, new NaiveHistoryTarget());
            output.WriteLine(report.Summary(maxViolations: 1));
            freshness += report.Violations.Count(v => v.Invariant.StartsWith("1 ", StringComparison.Ordinal) || v.Invariant.StartsWith("2 ", StringComparison.Ordinal));
        }

        Assert.True(freshness > 0, "The checker did not catch the naive GET-load-SET cache serving stale values.");
    }

    private static (int[] Seeds, TimeSpan Duration) Settings(int defaultSeeds = DefaultSeeds)
    {
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("BENDCARE_HISTORY_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > 0 ? s : DefaultSeconds;
        if (int.TryParse(Environment.GetEnvironmentVariable("BENDCARE_HISTORY_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int single))
        {
            return ([single], TimeSpan.FromSeconds(seconds));
        }

        int count = int.TryParse(Environment.GetEnvironmentVariable("BENDCARE_HISTORY_SEEDS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : defaultSeeds;
        return ([.. Enumerable.Range(1, count)], TimeSpan.FromSeconds(seconds));
    }
}
