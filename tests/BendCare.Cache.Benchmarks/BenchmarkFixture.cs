using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace BendCare.Cache.Benchmarks;

/// <summary>
/// Everything both sides of the comparison need: one Redis, a hand-written StackExchange.Redis client and the
/// library resolved from DI, with one pre-populated key each. Shared by the BenchmarkDotNet class and the
/// <c>--alloc</c> console mode.
/// </summary>
internal sealed class BenchmarkFixture : IAsyncDisposable
{
    public const string HitUserId = "bench-hit-user";
    public const string BaselinePrefix = "baseline:user_context:";
    public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

    /// <summary>What the miss loaders return: prebuilt, synchronously (no database in the measurement).</summary>
    public static readonly UserContext Prebuilt = SampleData.UserContext("bench-miss-user");

    /// <summary>The hit path's loader: static, no closure, and it must never run.</summary>
    public static readonly Func<CancellationToken, ValueTask<UserContext?>> ThrowingLoader =
        static _ => throw new InvalidOperationException("The loader ran on the hit path: the key was not a hit.");

    /// <summary>The miss path's loader: static, no closure, completes synchronously.</summary>
    public static readonly Func<CancellationToken, ValueTask<UserContext?>> PrebuiltLoader =
        static _ => new ValueTask<UserContext?>(Prebuilt);

    private readonly string _missIdPrefix = "m" + Guid.NewGuid().ToString("N")[..8] + "-";
    private long _missCounter;

    private BenchmarkFixture(BenchmarkServer server, ConnectionMultiplexer multiplexer, ServiceProvider provider)
    {
        Server = server;
        Multiplexer = multiplexer;
        Database = multiplexer.GetDatabase();
        Provider = provider;
        Cache = provider.GetRequiredService<IRbacCache>();
    }

    public BenchmarkServer Server { get; }

    public ConnectionMultiplexer Multiplexer { get; }

    public IDatabase Database { get; }

    public ServiceProvider Provider { get; }

    public IRbacCache Cache { get; }

    public RedisKey BaselineHitKey { get; } = BaselinePrefix + HitUserId;

    public static async Task<BenchmarkFixture> CreateAsync()
    {
        var server = await BenchmarkServer.StartOrUseEnvironmentAsync();
        try
        {
            var config = new ConfigurationOptions { EndPoints = { { server.Host, server.Port } }, AbortOnConnectFail = true };
            if (!server.IsOwned)
            {
                // A shared server (REDIS_HOST): same credentials as the library reads from the environment.
                config.User = NullIfEmpty(Environment.GetEnvironmentVariable("REDIS_USERNAME"));
                config.Password = NullIfEmpty(Environment.GetEnvironmentVariable("REDIS_PASSWORD"));
                config.Ssl = string.Equals(Environment.GetEnvironmentVariable("REDIS_TLS"), "true", StringComparison.OrdinalIgnoreCase);
            }

            var multiplexer = await ConnectionMultiplexer.ConnectAsync(config);
            var services = new ServiceCollection();
            services.AddBendCareRedisCache(o =>
            {
                o.Host = server.Host;
                o.Port = server.Port;

                // The default (150 ms) turns a hit into a loader call when the machine stalls that long (it happened on a
                // loaded 2-core box), and the hit benchmark's loader throws. The hit path's code and cost do not depend
                // on the value, so use 1 s, like the integration tests.
                o.OperationTimeout = TimeSpan.FromSeconds(1);
            });
            var fixture = new BenchmarkFixture(server, multiplexer, services.BuildServiceProvider());
            await fixture.PopulateAsync();
            return fixture;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes both hit keys and waits (at most 10 s) until the library answers a hit without its loader.</summary>
    private async Task PopulateAsync()
    {
        var hit = SampleData.UserContext(HitUserId);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(hit, BenchJsonContext.Default.UserContext);
        await Database.StringSetAsync(BaselineHitKey, json, Ttl);

        // The library connects in the background: poll with Set + Get until a Get is a hit.
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            await Cache.SetUserContextAsync(hit);
            bool loaderRan = false;
            await Cache.GetUserContextAsync(HitUserId, _ =>
            {
                loaderRan = true;
                return new ValueTask<UserContext?>(hit);
            });
            if (!loaderRan)
            {
                break;
            }

            if (stopwatch.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"The library did not answer a hit within 10 s ({Server.Host}:{Server.Port}).");
            }

            await Task.Delay(50);
        }

        // Long-running benchmarks must not see the key expire: drop its TTL (both keys, same treatment).
        await Database.KeyPersistAsync(BaselineHitKey);
        await Database.KeyPersistAsync("user_context:" + HitUserId);

        // Assert once, with the exact loader the benchmark uses, that both are hits and equal.
        var library = await LibraryHitAsync() ?? throw new InvalidOperationException("Library hit returned null.");
        var baseline = await BaselineHitAsync() ?? throw new InvalidOperationException("Baseline hit returned null.");
        if (library.Permissions.Count != 30 || baseline.Permissions.Count != 30 || library.RoleIds.Count != 5 || baseline.OrganizationIds.Count != 3)
        {
            throw new InvalidOperationException("The pre-populated user contexts do not round-trip.");
        }

        // Sanity on the miss paths: fresh keys, both loaders' values come back.
        if (await LibraryMissAsync() is null || await BaselineMissAsync() is null)
        {
            throw new InvalidOperationException("A miss returned null.");
        }

        await WaitForWriteBacksAsync();
    }

    // ---- the four measured operations --------------------------------------------------------------------------

    /// <summary>Hand-written cache-aside hit: GET + System.Text.Json (source-generated) deserialise.</summary>
    public async ValueTask<UserContext?> BaselineHitAsync()
    {
        var cached = await Database.StringGetAsync(BaselineHitKey).ConfigureAwait(false);
        return cached.IsNull ? null : JsonSerializer.Deserialize(((ReadOnlyMemory<byte>)cached).Span, BenchJsonContext.Default.UserContext);
    }

    public ValueTask<UserContext?> LibraryHitAsync() => Cache.GetUserContextAsync(HitUserId, ThrowingLoader);

    /// <summary>Hand-written cache-aside miss: GET (nil) → loader → serialise → SET with TTL, awaited.</summary>
    public async ValueTask<UserContext?> BaselineMissAsync()
    {
        RedisKey key = string.Concat(BaselinePrefix, NextMissId());
        var cached = await Database.StringGetAsync(key).ConfigureAwait(false);
        if (!cached.IsNull)
        {
            return JsonSerializer.Deserialize(((ReadOnlyMemory<byte>)cached).Span, BenchJsonContext.Default.UserContext);
        }

        var loaded = await PrebuiltLoader(CancellationToken.None).ConfigureAwait(false);
        if (loaded is not null)
        {
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(loaded, BenchJsonContext.Default.UserContext);
            await Database.StringSetAsync(key, json, Ttl).ConfigureAwait(false);
        }

        return loaded;
    }

    /// <summary>The library's miss: returns after GET + epoch GET + loader; the write-back runs in the background.</summary>
    public ValueTask<UserContext?> LibraryMissAsync() => Cache.GetUserContextAsync(NextMissId(), PrebuiltLoader);

    // ------------------------------------------------------------------------------------------------------------

    /// <summary>A never-used id (fresh per invocation; unique per process so a shared server still misses).</summary>
    private string NextMissId() =>
        string.Concat(_missIdPrefix, Interlocked.Increment(ref _missCounter).ToString(CultureInfo.InvariantCulture));

    public int WriteBacksInFlight => ((RedisRbacCache)Cache).Engine.WriteBacksInFlight;

    public async Task WaitForWriteBacksAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        while (WriteBacksInFlight > 0 && stopwatch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await WaitForWriteBacksAsync();
            if (!Server.IsOwned)
            {
                // A shared server: do not leave the persisted hit keys behind (miss keys expire on their own).
                await Database.KeyDeleteAsync([BaselineHitKey, "user_context:" + HitUserId]);
            }

            await Provider.DisposeAsync();
            await Multiplexer.CloseAsync();
            await Multiplexer.DisposeAsync();
        }
        finally
        {
            await Server.DisposeAsync();
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
