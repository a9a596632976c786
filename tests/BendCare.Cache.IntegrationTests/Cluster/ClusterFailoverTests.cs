using System.Collections.Concurrent;
using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Cluster;

/// <summary>
/// A primary of the cluster goes away while 16 callers read, write and invalidate: by a manual failover
/// (<c>CLUSTER FAILOVER</c> on its replica) and by a crash (kill -9 of its process). No exception reaches a caller,
/// every answer is one the caller may legally get (see <see cref="KeyModel"/>), and cache hits come back by
/// themselves on the slots that moved. The time from the fault to the first hit there is printed, not asserted.
/// </summary>
[Collection(ClusterFixture.CollectionName)]
public sealed class ClusterFailoverTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private const int Callers = 16;
    private const int IdsPerCallerAndType = 24;
    private const int MaxIterationsPerCaller = 20_000;
    private static readonly TimeSpan LoadBeforeFault = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan LoadAfterFault = TimeSpan.FromSeconds(4.5);
    private static readonly TimeSpan HitsResumeWithin = TimeSpan.FromSeconds(30);

    /// <summary>The types whose values can carry a per-call version (the blacklist is a bool).</summary>
    private static readonly CacheType[] Types = [.. CacheType.All.Where(t => t.Nullable)];

    private RedisCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Manual_failover_of_a_primary_under_load_gives_callers_only_legal_answers_and_hits_resume_on_the_moved_slots()
    {
        // In effect once every node sees the replica as the primary (before that the old primary still serves).
        await RunAsync("manual failover (CLUSTER FAILOVER on the replica)", primary => Cluster.FailoverAsync(primary), switched: null);
    }

    [Fact]
    public async Task Killed_primary_under_load_gives_callers_only_legal_answers_and_hits_resume_on_the_moved_slots()
    {
        // In effect as soon as the process is gone; the replica is promoted after the node timeout and an election.
        await RunAsync(
            "primary killed (kill -9)",
            primary => Cluster.KillPrimaryAsync(primary.Slots[0].Start),
            switched: primary => Cluster.WaitForNewPrimaryAsync(primary.Slots[0].Start, primary, TimeSpan.FromSeconds(30)));
    }

    private async Task RunAsync(string fault, Func<ClusterNode, Task<ClusterNode>> inflict, Func<ClusterNode, Task<ClusterNode>>? switched)
    {
        await fixture.WaitUntilHealthyAsync();
        try
        {
            await RunUnderLoadAsync(fault, inflict, switched);
        }
        finally
        {
            // Leave every node running and every primary with a replica in sync for the next test.
            await Cluster.RestoreAsync(TimeSpan.FromSeconds(30));
        }
    }

    private async Task RunUnderLoadAsync(string fault, Func<ClusterNode, Task<ClusterNode>> inflict, Func<ClusterNode, Task<ClusterNode>>? switched)
    {
        string prefix = ClusterFixture.NewKeyPrefix();
        await using var client = await ClusterClient.StartAsync(Cluster, prefix);
        var topology = await Cluster.GetTopologyAsync();

        // The primary to lose is the one serving the first caller's first key: a hot key by construction.
        var target = topology.PrimaryOf(Types[0].Key(prefix, KeyModel.Id(0, 0)));
        var workload = Enumerable.Range(0, Callers)
            .SelectMany(w => Types.SelectMany(t => Enumerable.Range(0, IdsPerCallerAndType).Select(k => t.Key(prefix, KeyModel.Id(w, k)))))
            .ToArray();
        int hotKeys = workload.Count(k => target.Serves(RedisCluster.HashSlot(k)));
        Assert.InRange(hotKeys, 1, workload.Length - 1);

        // Probe keys in the slots that will move: one written before the fault, fresh ones after it.
        var probeIds = Enumerable.Range(0, 20_000).Select(i => $"probe-{i}")
            .Where(id => target.Serves(RedisCluster.HashSlot(CacheType.Named("user_basic").Key(prefix, id))))
            .Take(2_000)
            .ToArray();
        string preexisting = probeIds[0];
        var preexistingLoader = new CountingLoader<UserBasicInfo?>(Models.UserBasic(preexisting));
        await client.Cache.GetUserBasicAsync(preexisting, preexistingLoader.Load);
        await client.Host.WaitForWriteBacksAsync();

        // Keys on the shards that stay healthy, cached before the fault: read all through it, they must stay hits.
        var healthyIds = Enumerable.Range(0, 5_000).Select(i => $"healthy-{i}")
            .Where(id => !target.Serves(RedisCluster.HashSlot(CacheType.Named("user_basic").Key(prefix, id))))
            .Take(200)
            .ToArray();
        var healthyLoader = new CountingLoader<UserBasicInfo?>(Models.UserBasic("healthy"));
        foreach (string id in healthyIds)
        {
            await client.Cache.GetUserBasicAsync(id, healthyLoader.Load);
        }

        await client.Host.WaitForWriteBacksAsync();

        var violations = new ConcurrentQueue<string>();
        var exceptions = new ConcurrentQueue<string>();
        var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        long faultAt = long.MaxValue;
        var callers = Enumerable.Range(0, Callers)
            .Select(w => Task.Run(() => CallerAsync(client.Cache, w, clock, () => Interlocked.Read(ref faultAt), violations, exceptions, stop.Token)))
            .ToArray();

        Timeline? timeline = null;
        TimeSpan inEffectAfter;
        TimeSpan? switchedAfter;
        int[] finished;
        (long hits, long misses) statsBefore;
        (long hits, long misses) statsAtStop;
        ClusterNode promoted;
        TimeSpan? firstPreexistingHit;
        TimeSpan? firstWrittenBackHit;
        string steady;
        (int Hits, int Misses) healthy = (0, 0);
        Task<(int Hits, int Misses)>? healthyReads = null;
        try
        {
            await Task.Delay(LoadBeforeFault);
            statsBefore = (client.Counters.Total(CacheCounters.Hits), client.Counters.Total(CacheCounters.Misses));
            Interlocked.Exchange(ref faultAt, clock.ElapsedTicks);
            var sinceFault = Stopwatch.StartNew();
            var inEffect = await inflict(target);
            inEffectAfter = sinceFault.Elapsed;
            healthyReads = ReadHealthyShardsAsync(client.Cache, healthyIds, healthyLoader, stop.Token);
            switchedAfter = switched is null ? inEffectAfter : null;
            var switchTask = switched is null ? Task.FromResult(inEffect) : TimedAsync(switched(target));
            timeline = new Timeline(client, sinceFault);
            var probe = ProbeAsync(client, probeIds.Skip(1).ToArray(), preexisting, preexistingLoader, sinceFault);

            await Task.Delay(LoadAfterFault - inEffectAfter);
            await stop.CancelAsync();
            finished = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));
            healthy = await healthyReads.WaitAsync(TimeSpan.FromSeconds(30));
            statsAtStop = (client.Counters.Total(CacheCounters.Hits), client.Counters.Total(CacheCounters.Misses));
            promoted = await switchTask.WaitAsync(TimeSpan.FromSeconds(30));
            (firstPreexistingHit, firstWrittenBackHit) = await probe.WaitAsync(HitsResumeWithin + TimeSpan.FromSeconds(5));
            steady = firstWrittenBackHit is null ? "not measured (no hit)" : await SteadyHitRatioAsync(client);

            async Task<ClusterNode> TimedAsync(Task<ClusterNode> switching)
            {
                var node = await switching;
                switchedAfter = sinceFault.Elapsed;
                return node;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAny(Task.WhenAll(callers), Task.Delay(TimeSpan.FromSeconds(30)));
            if (timeline is not null)
            {
                await timeline.StopAsync();
            }
        }

        var warnings = client.Host.Logs.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();
        string report =
            $"[cluster] {fault}: {target.EndPoint} ({string.Join(',', target.Slots.Select(r => $"{r.Start}-{r.End}"))}, {hotKeys} of {workload.Length} workload keys) -> {promoted.EndPoint}"
            + $"{Environment.NewLine}  fault in effect after {Seconds(inEffectAfter)}; every node sees the new primary after {Seconds(switchedAfter)}"
            + $"{Environment.NewLine}  first hit on a key in the moved slots cached before the fault: {Seconds(firstPreexistingHit)} after the fault"
            + $"{Environment.NewLine}  first hit on a key in the moved slots written back after the fault: {Seconds(firstWrittenBackHit)} after the fault"
            + $"{Environment.NewLine}  {finished.Sum()} calls by {Callers} callers; reads after the fault until the callers stopped (probe included): {statsAtStop.hits - statsBefore.hits} hits, {statsAtStop.misses - statsBefore.misses} misses"
            + $"; redis errors {client.Counters.Total(CacheCounters.RedisErrors)}, timeouts {client.Counters.Total(CacheCounters.Timeouts)}, write-backs dropped {client.Counters.Total(CacheCounters.WriteBacksDropped)}"
            + $"{Environment.NewLine}  reads of keys on the healthy shards from the fault until the callers stopped: {healthy.Hits} hits, {healthy.Misses} misses"
            + $"{Environment.NewLine}  afterwards{(switched is null ? string.Empty : " (killed node still down)")}: {steady}"
            + $"{Environment.NewLine}  breaker/pending timeline after the fault: {timeline}"
            + $"{Environment.NewLine}  warnings/errors logged: {warnings.Count}"
            + string.Concat(warnings.Take(5).Select(e => $"{Environment.NewLine}    {e.Level} {e.EventId.Id}: {e.Message}"));
        output.WriteLine(report);
        Console.WriteLine(report);

        Assert.True(exceptions.IsEmpty, $"{exceptions.Count} exception(s) reached callers: {string.Join(Environment.NewLine, exceptions.Take(5))}");
        Assert.True(violations.IsEmpty, $"{violations.Count} wrong answer(s): {string.Join(Environment.NewLine, violations.Take(5))}");
        Assert.True(firstWrittenBackHit is not null, $"no hit on a written-back key in the moved slots within {HitsResumeWithin.TotalSeconds:0} s; breaker {client.Host.Connection.BreakerState}, pending {client.Host.Engine.RememberedInvalidations}, last error {client.Host.Connection.LastError}");
        Assert.Equal(0, client.Counters.Total(CacheCounters.Unreadable));
        Assert.True(healthy.Hits > 0, "no read of a healthy shard's key was made during the fault");
        Assert.True(healthy.Misses == 0, $"{healthy.Misses} of {healthy.Hits + healthy.Misses} reads of keys on the healthy shards went to the loader during the fault");
    }

    /// <summary>
    /// Reads keys that live on the shards the fault does not touch, until stopped. Returns how many were hits (served
    /// from Redis) and how many called the loader.
    /// </summary>
    private static async Task<(int Hits, int Misses)> ReadHealthyShardsAsync(IRbacCache cache, string[] ids, CountingLoader<UserBasicInfo?> loader, CancellationToken stop)
    {
        int hits = 0;
        int misses = 0;
        for (int i = 0; !stop.IsCancellationRequested; i++)
        {
            int before = loader.Calls;
            await cache.GetUserBasicAsync(ids[i % ids.Length], loader.Load, CancellationToken.None);
            if (loader.Calls == before)
            {
                hits++;
            }
            else
            {
                misses++;
            }

            await Task.Delay(2, CancellationToken.None);
        }

        return (hits, misses);
    }

    /// <summary>
    /// One caller: Get (60 %), Set (20 %) and Invalidate (20 %) over its own ids of four types, until stopped. Each
    /// loader call returns a value unique to the call. Returns the number of calls made.
    /// </summary>
    private static async Task<int> CallerAsync(
        IRbacCache cache,
        int worker,
        Stopwatch clock,
        Func<long> faultAt,
        ConcurrentQueue<string> violations,
        ConcurrentQueue<string> exceptions,
        CancellationToken stop)
    {
        var random = new Random(worker);
        var models = new Dictionary<(string Type, int Id), KeyModel>();
        int calls = 0;
        for (int i = 0; i < MaxIterationsPerCaller && !stop.IsCancellationRequested; i++)
        {
            // A few hundred calls a second per caller: plenty of traffic, and calls that complete synchronously
            // (Redis skipped, instant loader) cannot hold every pool thread of a 2-core machine and starve the probe
            // or the test collections running beside this one.
            await Task.Delay(1, CancellationToken.None);
            var type = Types[random.Next(Types.Length)];
            int k = random.Next(IdsPerCallerAndType);
            string id = KeyModel.Id(worker, k);
            if (!models.TryGetValue((type.Name, k), out var model))
            {
                model = models[(type.Name, k)] = new KeyModel(type, id);
            }

            string version = $"db-{worker}-{i}";
            int op = random.Next(10);
            string when = clock.ElapsedTicks >= faultAt() ? $"{TimeSpan.FromTicks((long)((clock.ElapsedTicks - faultAt()) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency))).TotalSeconds:0.000} s after the fault" : "before the fault";
            calls++;
            try
            {
                if (op < 6)
                {
                    bool loaded = false;
                    var answer = await type.GetAsync(cache, id, _ =>
                    {
                        loaded = true;
                        return ValueTask.FromResult<object?>(type.Make(id, version));
                    });
                    if (model.Check(answer, loaded, version) is { } problem)
                    {
                        violations.Enqueue($"{type.Name} {id} call {i} {when}: {problem}");
                    }
                }
                else if (op < 8)
                {
                    await type.SetAsync(cache, id, version);
                    model.Set(version);
                }
                else
                {
                    await type.InvalidateAsync(cache, id);
                    model.Invalidate();
                }
            }
            catch (Exception ex)
            {
                exceptions.Enqueue($"{type.Name} {(op < 6 ? "get" : op < 8 ? "set" : "invalidate")} {id} {when}: {ex}");
            }
        }

        return calls;
    }

    /// <summary>
    /// From the moment the fault is in effect: reads a key cached before it until that is a hit again, and writes fresh
    /// keys (miss, background write-back, read again) until one is a hit. Returns the time since the fault of each
    /// first hit, or null when none came within <see cref="HitsResumeWithin"/>.
    /// </summary>
    private static async Task<(TimeSpan? Preexisting, TimeSpan? WrittenBack)> ProbeAsync(
        ClusterClient client,
        string[] freshIds,
        string preexisting,
        CountingLoader<UserBasicInfo?> preexistingLoader,
        Stopwatch sinceFault)
    {
        TimeSpan? preexistingHit = null;
        TimeSpan? writtenBackHit = null;
        int next = 0;
        while (sinceFault.Elapsed < HitsResumeWithin && (preexistingHit is null || writtenBackHit is null))
        {
            if (preexistingHit is null)
            {
                int before = preexistingLoader.Calls;
                await client.Cache.GetUserBasicAsync(preexisting, preexistingLoader.Load);
                if (preexistingLoader.Calls == before)
                {
                    preexistingHit = sinceFault.Elapsed;
                }
            }

            if (writtenBackHit is null)
            {
                string id = freshIds[next++ % freshIds.Length];
                var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic(id, "probe"));
                await client.Cache.GetUserBasicAsync(id, loader.Load);
                for (int attempt = 0; attempt < 4 && writtenBackHit is null; attempt++)
                {
                    await Task.Delay(10);
                    var value = await client.Cache.GetUserBasicAsync(id, loader.Load);
                    if (loader.Calls == 1)
                    {
                        Same.Value(Models.UserBasic(id, "probe"), value);
                        writtenBackHit = sinceFault.Elapsed;
                    }
                }
            }

            await Task.Delay(10);
        }

        return (preexistingHit, writtenBackHit);
    }

    /// <summary>Samples the breaker state and the remembered invalidations every 10 ms; keeps the changes.</summary>
    private sealed class Timeline
    {
        private readonly List<string> _changes = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampling;

        public Timeline(ClusterClient client, Stopwatch since)
        {
            _sampling = Task.Run(async () =>
            {
                string? last = null;
                while (!_stop.IsCancellationRequested)
                {
                    int pending = client.Host.Engine.RememberedInvalidations;
                    string state = $"{client.Host.Connection.BreakerState}/{(pending == 0 ? "0" : "pending")}";
                    if (state != last)
                    {
                        lock (_changes)
                        {
                            _changes.Add($"{since.Elapsed.TotalSeconds:0.00}s {state}" + (pending == 0 ? string.Empty : $"({pending})"));
                        }

                        last = state;
                    }

                    await Task.Delay(10);
                }
            });
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _sampling;
        }

        public override string ToString()
        {
            lock (_changes)
            {
                return _changes.Count <= 30
                    ? string.Join(" > ", _changes)
                    : string.Join(" > ", _changes.Take(25)) + $" > ... ({_changes.Count - 30} more) > " + string.Join(" > ", _changes.TakeLast(5));
            }
        }
    }

    /// <summary>After hits resumed: reads 60 keys spread over every primary for 2 s and reports how many were hits.</summary>
    private static async Task<string> SteadyHitRatioAsync(ClusterClient client)
    {
        var ids = Enumerable.Range(0, 60).Select(i => $"steady-{i}").ToArray();
        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic("steady"));
        foreach (string id in ids)
        {
            await client.Cache.GetUserBasicAsync(id, loader.Load);
        }

        await client.Host.WaitForWriteBacksAsync();
        int reads = 0;
        int loadsBefore = loader.Calls;
        var elapsed = Stopwatch.StartNew();
        while (elapsed.Elapsed < TimeSpan.FromSeconds(2))
        {
            await client.Cache.GetUserBasicAsync(ids[reads % ids.Length], loader.Load);
            reads++;
            if (reads % 60 == 0)
            {
                await Task.Delay(5);
            }
        }

        int misses = loader.Calls - loadsBefore;
        return $"{reads - misses} of {reads} reads over 2 s were hits ({100.0 * (reads - misses) / reads:0.0} %)";
    }

    private static string Seconds(TimeSpan? elapsed) => elapsed is { } e ? $"{e.TotalSeconds:0.00} s" : "never";

    /// <summary>
    /// What one caller may legally read for one of its own keys (no other caller touches it, and its calls are
    /// sequential). A call whose loader ran must return that loader's value. A hit must return either the value of
    /// the last <c>Set</c> — if no invalidation came after it — or a value some loader returned for this key after
    /// the last <c>Set</c>/invalidation returned. Anything else is wrong: a value from before a <c>Set</c> or an
    /// invalidation that returned (a lost or undone write), or another key's value.
    /// </summary>
    private sealed class KeyModel(CacheType type, string id)
    {
        private readonly List<string> _loadedSince = [];
        private readonly Queue<string> _history = new();
        private string? _lastSet;

        public static string Id(int worker, int k) => $"w{worker}-{k}";

        public string? Check(object? answer, bool loaded, string version)
        {
            string actual = Same.Canonical(answer);
            string? problem = null;
            if (loaded)
            {
                if (actual != Canonical(version))
                {
                    problem = $"the loader ran and returned {version} but the caller got {actual}";
                }
                else
                {
                    _loadedSince.Add(version);
                }
            }
            else if (!(_lastSet is { } set && actual == Canonical(set)) && !_loadedSince.Any(v => actual == Canonical(v)))
            {
                problem = $"hit returned {actual}; allowed: last set {_lastSet ?? "(none since the last invalidation)"}, loaded since {string.Join(",", _loadedSince)}; history: {string.Join(" > ", _history)}";
            }

            Remember(loaded ? $"get(loaded {version})" : $"get(hit {Short(actual)})");
            return problem;
        }

        public void Set(string version)
        {
            _lastSet = version;
            _loadedSince.Clear();
            Remember($"set {version}");
        }

        public void Invalidate()
        {
            _lastSet = null;
            _loadedSince.Clear();
            Remember("invalidate");
        }

        private string Canonical(string version) => Same.Canonical(type.Make(id, version));

        private void Remember(string step)
        {
            _history.Enqueue(step);
            while (_history.Count > 8)
            {
                _history.Dequeue();
            }
        }

        private static string Short(string json)
        {
            int at = json.IndexOf("db-", StringComparison.Ordinal);
            return at < 0 ? json : json[at..Math.Min(json.Length, json.IndexOf('"', at) < 0 ? json.Length : json.IndexOf('"', at))];
        }
    }
}
