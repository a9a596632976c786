using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BendCare.Cache.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace BendCare.Cache.LoadHarness;

/// <summary>
/// Every measured side against one server: the hand-written StackExchange.Redis + System.Text.Json baseline, the
/// library (L1 off and on), FusionCache and HybridCache over Microsoft.Extensions.Caching.StackExchangeRedis (Redis only
/// and with their memory L1). Each side has its own keys, all holding the same value. The baseline and the peers get
/// their keys prebuilt (a service would concatenate them per call); the library builds its key from the id per call,
/// and on an L1 hit builds none.
/// </summary>
internal sealed class Subjects : IAsyncDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(30);
    private static readonly HybridCacheEntryOptions HybridRedisOnly = new() { Flags = HybridCacheEntryFlags.DisableLocalCache, Expiration = Ttl, LocalCacheExpiration = Ttl };
    private static readonly HybridCacheEntryOptions HybridWithLocal = new() { Expiration = Ttl, LocalCacheExpiration = Ttl };

    private readonly List<IAsyncDisposable> _owned = [];
    private readonly string[] _ids;
    private readonly UserContext[] _values;
    private readonly string _missPrefix = "m" + Guid.NewGuid().ToString("N")[..8] + "-";
    private long _missCounter;

    private Subjects(int keys)
    {
        _ids = Enumerable.Range(0, keys).Select(Data.UserId).ToArray();
        _values = _ids.Select(Data.UserContext).ToArray();
    }

    public required RedisServer Server { get; init; }

    public IDatabase Database { get; private set; } = null!;

    public ServiceProvider Library { get; private set; } = null!;

    public ServiceProvider LibraryWithL1 { get; private set; } = null!;

    public IRbacCache LibraryCache => Library.GetRequiredService<IRbacCache>();

    public int ValueBytes => JsonSerializer.SerializeToUtf8Bytes(_values[0], HarnessJsonContext.Default.UserContext).Length;

    public Subject Baseline { get; private set; } = null!;

    public Subject LibraryHit { get; private set; } = null!;

    public Subject FusionRedis { get; private set; } = null!;

    public Subject HybridRedis { get; private set; } = null!;

    public Subject LibraryL1 { get; private set; } = null!;

    public Subject FusionL1 { get; private set; } = null!;

    public Subject HybridL1 { get; private set; } = null!;

    public Subject HybridL1Immutable { get; private set; } = null!;

    public MissSubject BaselineMiss { get; private set; } = null!;

    public MissSubject LibraryMiss { get; private set; } = null!;

    public static async Task<Subjects> CreateAsync(RedisServer server, int keys)
    {
        var s = new Subjects(keys) { Server = server };
        try
        {
            await s.BuildAsync();
            return s;
        }
        catch
        {
            await s.DisposeAsync();
            throw;
        }
    }

    /// <summary>A library provider with the production defaults (150 ms operation timeout), as a service registers it.</summary>
    public static ServiceProvider NewLibrary(RedisServer server, string prefix, LocalCacheTypes local, Action<IServiceCollection>? more = null)
    {
        var services = new ServiceCollection();
        more?.Invoke(services);
        services.AddBendCareRedisCache(o =>
        {
            o.Host = server.Host;
            o.Port = server.Port;
            o.KeyPrefix = prefix;
            o.LocalCache.Types = local;
        });
        return services.BuildServiceProvider();
    }

    private async Task BuildAsync()
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(Server.ConnectionString);
        _owned.Add(multiplexer);
        Database = multiplexer.GetDatabase();

        Library = NewLibrary(Server, "lib:", LocalCacheTypes.None);
        LibraryWithL1 = NewLibrary(Server, "libl1:", LocalCacheTypes.UserContext);
        _owned.Add(Library);
        _owned.Add(LibraryWithL1);

        var fusionL2 = NewFusion("fusion-l2:");
        var fusionL1 = NewFusion("fusion-l1:");
        var fusionRedisOnly = new FusionCacheEntryOptions { Duration = Ttl, SkipMemoryCacheRead = true, SkipMemoryCacheWrite = true };
        var fusionWithLocal = new FusionCacheEntryOptions { Duration = Ttl };

        var hybridServices = new ServiceCollection();
        hybridServices.AddStackExchangeRedisCache(o => o.Configuration = Server.ConnectionString);
        hybridServices.AddHybridCache();
        var hybridProvider = hybridServices.BuildServiceProvider();
        _owned.Add(hybridProvider);
        var hybrid = hybridProvider.GetRequiredService<HybridCache>();

        string[] baselineKeys = Keys("baseline:user_context:");
        string[] fusionKeys = Keys("uc:");
        string[] hybridKeys = Keys("hybrid:uc:");
        string[] hybridL1Keys = Keys("hybrid-l1:uc:");
        string[] hybridFrozenKeys = Keys("hybrid-frozen:uc:");
        var frozen = _values.Select(Data.Frozen).ToArray();

        var library = Library.GetRequiredService<IRbacCache>();
        var libraryL1 = LibraryWithL1.GetRequiredService<IRbacCache>();

        Progress("seeding");
        for (int i = 0; i < _ids.Length; i++)
        {
            await Database.StringSetAsync(baselineKeys[i], JsonSerializer.SerializeToUtf8Bytes(_values[i], HarnessJsonContext.Default.UserContext), Ttl);
            await fusionL2.SetAsync(fusionKeys[i], _values[i], fusionRedisOnly);
            await fusionL1.SetAsync(fusionKeys[i], _values[i], fusionWithLocal);
            await hybrid.SetAsync(hybridKeys[i], _values[i], HybridRedisOnly);
            await hybrid.SetAsync(hybridL1Keys[i], _values[i], HybridWithLocal);
            await hybrid.SetAsync(hybridFrozenKeys[i], frozen[i], HybridWithLocal);
        }

        Progress("seeding the library");
        await SetThroughLibraryAsync(Library, library);
        await SetThroughLibraryAsync(LibraryWithL1, libraryL1);

        Baseline = new Subject<UserContext?>("hand-written SE.Redis GET + STJ", i => BaselineGetAsync(Database, baselineKeys[i]));
        Subject libraryHit = null!;
        libraryHit = new Subject<UserContext?>("BendCare.Cache", i => library.GetUserContextAsync(_ids[i], libraryHit, CountingLoader));
        LibraryHit = libraryHit;
        Subject fusionRedis = null!;
        fusionRedis = new Subject<UserContext?>("FusionCache 2.9, Redis only", i => fusionL2.GetOrSetAsync<UserContext?>(fusionKeys[i], (_, _) => CountedValue(fusionRedis, i), fusionRedisOnly));
        FusionRedis = fusionRedis;
        Subject hybridRedis = null!;
        hybridRedis = new Subject<UserContext?>("HybridCache 10.11, Redis only", i => hybrid.GetOrCreateAsync(hybridKeys[i], (this, i), static (s, _) => new ValueTask<UserContext?>(s.Item1._values[s.Item2]), HybridRedisOnly));
        HybridRedis = hybridRedis;

        Subject libraryL1Hit = null!;
        libraryL1Hit = new Subject<UserContext?>("BendCare.Cache, L1 on", i => libraryL1.GetUserContextAsync(_ids[i], libraryL1Hit, CountingLoader));
        LibraryL1 = libraryL1Hit;
        Subject fusionL1Hit = null!;
        fusionL1Hit = new Subject<UserContext?>("FusionCache 2.9, memory L1", i => fusionL1.GetOrSetAsync<UserContext?>(fusionKeys[i], (_, _) => CountedValue(fusionL1Hit, i), fusionWithLocal));
        FusionL1 = fusionL1Hit;
        HybridL1 = new Subject<UserContext?>("HybridCache 10.11, memory L1", i => hybrid.GetOrCreateAsync(hybridL1Keys[i], (this, i), static (s, _) => new ValueTask<UserContext?>(s.Item1._values[s.Item2]), HybridWithLocal));
        HybridL1Immutable = new Subject<FrozenUserContext>("HybridCache 10.11, memory L1, [ImmutableObject]", i => hybrid.GetOrCreateAsync(hybridFrozenKeys[i], (frozen, i), static (s, _) => new ValueTask<FrozenUserContext>(s.frozen[s.i]), HybridWithLocal));

        var engine = ((RedisRbacCache)library).Engine;
        BaselineMiss = new MissSubject("hand-written: GET, load, SET (awaited)", () => BaselineMissAsync(Database, NextMissId()), static () => 0);
        LibraryMiss = new MissSubject("BendCare.Cache: GET, epoch GET, load (write-back in background)", () => library.GetUserContextAsync(NextMissId(), this, static (s, _) => new ValueTask<UserContext?>(s._values[0])), () => engine.WriteBacksInFlight);

        // Warm every hit path once and fill the L1s; the library's L1 serves only once its heartbeat verified it.
        Progress("warming");
        await WarmAsync(LibraryL1Ready(libraryL1));
        Progress("ready");
    }

    private static readonly Func<Subject, CancellationToken, ValueTask<UserContext?>> CountingLoader = static (subject, _) =>
    {
        Interlocked.Increment(ref subject.LoaderCalls);
        return new ValueTask<UserContext?>(Data.UserContext("loaded"));
    };

    private Task<UserContext?> CountedValue(Subject subject, int i)
    {
        Interlocked.Increment(ref subject.LoaderCalls);
        return Task.FromResult<UserContext?>(_values[i]);
    }

    private static async ValueTask<UserContext?> BaselineGetAsync(IDatabase database, string key)
    {
        var cached = await database.StringGetAsync(key).ConfigureAwait(false);
        return cached.IsNull ? null : JsonSerializer.Deserialize(((ReadOnlyMemory<byte>)cached).Span, HarnessJsonContext.Default.UserContext);
    }

    private async ValueTask<UserContext?> BaselineMissAsync(IDatabase database, string id)
    {
        RedisKey key = string.Concat("baseline:user_context:", id);
        var cached = await database.StringGetAsync(key).ConfigureAwait(false);
        if (!cached.IsNull)
        {
            return JsonSerializer.Deserialize(((ReadOnlyMemory<byte>)cached).Span, HarnessJsonContext.Default.UserContext);
        }

        var loaded = _values[0];
        await database.StringSetAsync(key, JsonSerializer.SerializeToUtf8Bytes(loaded, HarnessJsonContext.Default.UserContext), Ttl).ConfigureAwait(false);
        return loaded;
    }

    public static void Progress(string step) => Console.Error.WriteLine($"[harness {DateTime.Now:HH:mm:ss.fff}] {step}");

    private string NextMissId() => string.Concat(_missPrefix, Interlocked.Increment(ref _missCounter).ToString(CultureInfo.InvariantCulture));

    private string[] Keys(string prefix) => _ids.Select(id => prefix + id).ToArray();

    private FusionCache NewFusion(string prefix)
    {
        var redis = new RedisCache(Options.Create(new RedisCacheOptions { Configuration = Server.ConnectionString, InstanceName = prefix }));
        var memory = new MemoryCache(new MemoryCacheOptions());
        var fusion = new FusionCache(new FusionCacheOptions { CacheName = prefix }, memory);
        fusion.SetupDistributedCache(redis, new FusionCacheSystemTextJsonSerializer());
        _owned.Add(new DisposeAll(fusion, memory, redis));
        return fusion;
    }

    private async Task SetThroughLibraryAsync(ServiceProvider provider, IRbacCache cache)
    {
        // The library connects in the background: set until a read is a hit (bounded).
        var engine = ((RedisRbacCache)cache).Engine;
        var stopwatch = Stopwatch.StartNew();
        while (!engine.Connection.IsUsable && stopwatch.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(20);
        }

        foreach (var value in _values)
        {
            await cache.SetUserContextAsync(value);
        }

        await ReadUntilEveryKeyHitsAsync(cache, _ids, "seeding");

        GC.KeepAlive(provider);
    }

    /// <summary>
    /// A set that timed out (a server still compiling its first scripts, say) is remembered as an invalidation and
    /// blocks reads of its key until the replay lands: that key would be a miss where a table measures hits. Reads
    /// every id (the loader gives the seeded value) until a pass loads none; throws after 20 passes.
    /// </summary>
    public static async Task ReadUntilEveryKeyHitsAsync(IRbacCache cache, IReadOnlyList<string> ids, string step)
    {
        for (int pass = 0; ; pass++)
        {
            int loads = 0;
            foreach (string id in ids)
            {
                await cache.GetUserContextAsync(id, id, (i, _) =>
                {
                    loads++;
                    return new ValueTask<UserContext?>(Data.UserContext(i));
                });
            }

            if (loads == 0)
            {
                return;
            }

            if (pass == 19)
            {
                throw new InvalidOperationException($"{step}: {loads} keys were still not hits after 20 passes.");
            }

            Progress($"{step}: {loads} keys were not hits; again");
            await Task.Delay(300);
        }
    }

    private static Func<Task> LibraryL1Ready(IRbacCache cache) => async () =>
    {
        var bus = ((RedisRbacCache)cache).Engine.Bus!;
        var stopwatch = Stopwatch.StartNew();
        while (!bus.Verification.IsVerified && stopwatch.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(20);
        }

        if (!bus.Verification.IsVerified)
        {
            throw new InvalidOperationException("The library's L1 was not verified within 20 s.");
        }
    };

    /// <summary>One sequential pass over the keys per subject: fills the L1s and proves each hit path hits.</summary>
    private async Task WarmAsync(Func<Task> libraryL1Ready)
    {
        await libraryL1Ready();
        var scratch = Histograms.Create();
        foreach (var subject in new[] { Baseline, LibraryHit, FusionRedis, HybridRedis, LibraryL1, FusionL1, HybridL1, HybridL1Immutable })
        {
            Progress("warming " + subject.Name);
            var block = new Block(_ids.Length, long.MaxValue);
            var run = Task.Run(() => subject.RunCallerAsync(block, scratch, 0));
            await block.EndAfter(TimeSpan.FromMilliseconds(400));
            await run;
            subject.LoaderCalls = 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            try
            {
                await _owned[i].DisposeAsync();
            }
            catch (Exception ex)
            {
                Console.Error.WriteLine($"dispose: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    private sealed class DisposeAll(params IDisposable[] items) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }

            return ValueTask.CompletedTask;
        }
    }
}
