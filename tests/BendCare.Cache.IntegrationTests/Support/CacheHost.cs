using BendCare.Cache.CacheAside;
using BendCare.Cache.Connection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.IntegrationTests.Support;

/// <summary>
/// One application instance using the cache: its own service provider, connection and logs. Two hosts on one server
/// model two instances of a service.
/// </summary>
public sealed class CacheHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private CacheHost(ServiceProvider services, string keyPrefix, CapturedLogs logs)
    {
        _services = services;
        KeyPrefix = keyPrefix;
        Logs = logs;
        Cache = services.GetRequiredService<IRbacCache>();
    }

    public IRbacCache Cache { get; }

    public string KeyPrefix { get; }

    public CapturedLogs Logs { get; }

    internal RedisConnection Connection => _services.GetRequiredService<RedisConnection>();

    internal CacheAsideEngine Engine => _services.GetRequiredService<CacheAsideEngine>();

    public IServiceProvider Services => _services;

    /// <summary>Creates a host pointed at host:port, with extra registrations if given; waits for the first connection unless told not to.</summary>
    public static async Task<CacheHost> StartAsync(
        string host,
        int port,
        string keyPrefix,
        Action<BendCareCacheOptions>? configure = null,
        bool waitForConnection = true,
        Action<IServiceCollection>? registerServices = null)
    {
        var logs = new CapturedLogs();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        services.AddBendCareRedisCache(o =>
        {
            o.Host = host;
            o.Port = port;
            o.KeyPrefix = keyPrefix;

            // Tests run in parallel on small machines: a generous timeout keeps a busy moment from turning a hit into
            // a miss. Tests about timeouts and outages set the library's default back (see FaultInjectionTests).
            o.OperationTimeout = TimeSpan.FromSeconds(1);
            configure?.Invoke(o);
        });
        registerServices?.Invoke(services);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var cacheHost = new CacheHost(provider, keyPrefix, logs);
        if (waitForConnection)
        {
            await cacheHost.Connection.FirstConnected.WaitAsync(TimeSpan.FromSeconds(15));
            await cacheHost.WaitUntilUsableAsync();
        }

        return cacheHost;
    }

    /// <summary>Waits (bounded) until requests use Redis again.</summary>
    public async Task WaitUntilUsableAsync(TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(15));
        while (!Connection.IsUsable || Engine.RememberedInvalidations != 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Cache not usable: breaker {Connection.BreakerState}, pending {Engine.RememberedInvalidations}, last error {Connection.LastError}");
            }

            // Reads are what probe the breaker; a cheap one keeps recovery moving.
            await Cache.GetUserBasicAsync("probe", static _ => ValueTask.FromResult<UserBasicInfo?>(null));
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Reads one fresh user id until a read is answered from Redis (its loader not called), as a user would notice
    /// the cache working again; every read must return the loader's value meanwhile. Fails after <paramref name="limit"/>
    /// (default 20 s), a generous bound for recoveries on a loaded machine.
    /// </summary>
    public Task AssertHitsResumeAsync(TimeSpan? limit = null)
    {
        string id = "resume-" + Guid.NewGuid().ToString("N");
        return ReadUntilHitAsync(Cache, id, new CountingLoader<UserBasicInfo?>(Models.UserBasic(id)), limit ?? TimeSpan.FromSeconds(20), this);
    }

    /// <summary>Reads <paramref name="id"/> until a read is a hit; each read meanwhile must return the loader's value.</summary>
    public static async Task ReadUntilHitAsync(IRbacCache cache, string id, CountingLoader<UserBasicInfo?> loader, TimeSpan limit, CacheHost? host = null)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            int before = loader.Calls;
            Same.Value(Models.UserBasic(id), await cache.GetUserBasicAsync(id, loader.Load));
            if (loader.Calls == before)
            {
                return;
            }

            Xunit.Assert.True(DateTime.UtcNow < deadline, $"no cache hit for {id} within {limit.TotalSeconds:0} s"
                + (host is null ? "" : $"; breaker {host.Connection.BreakerState}, last error {host.Connection.LastError}"));
            await Task.Delay(25);
        }
    }

    /// <summary>Reads <paramref name="count"/> fresh ids at once, as a user would; each read must return its loader's value and nothing may throw.</summary>
    public async Task AssertReadsReturnLoaderValuesAsync(string idPrefix, int count = 20)
    {
        for (int i = 0; i < count; i++)
        {
            string id = $"{idPrefix}-{i}";
            Same.Value(Models.UserBasic(id), await Cache.GetUserBasicAsync(id, _ => ValueTask.FromResult<UserBasicInfo?>(Models.UserBasic(id))));
        }
    }

    /// <summary>Waits (bounded) until the background write-backs issued so far have finished.</summary>
    public async Task WaitForWriteBacksAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Engine.WriteBacksInFlight != 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Write-backs did not finish.");
            }

            await Task.Delay(5);
        }
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}
