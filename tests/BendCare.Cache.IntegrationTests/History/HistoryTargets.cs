using BendCare.Cache.Connection;
using BendCare.Cache.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>The short TTLs a run uses, so entries expire during it.</summary>
public sealed record HistoryTtls
{
    /// <summary>User contexts.</summary>
    public TimeSpan UserContext { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>User basic info.</summary>
    public TimeSpan UserBasic { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Role permissions.</summary>
    public TimeSpan RolePermissions { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>A cached "not blacklisted".</summary>
    public TimeSpan TokenNotBlacklisted { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A cached "blacklisted".</summary>
    public TimeSpan TokenBlacklisted { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>JWT payloads.</summary>
    public TimeSpan JwtPayload { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a stale value of <paramref name="kind"/> can live once cached.</summary>
    public TimeSpan Of(EntityKind kind) => kind switch
    {
        EntityKind.UserContext => UserContext,
        EntityKind.UserBasic => UserBasic,
        EntityKind.RolePermissions => RolePermissions,
        EntityKind.TokenBlacklist => TokenNotBlacklisted,
        _ => JwtPayload,
    };
}

/// <summary>What the checker runs against: makes one cache instance that talks to the server through <c>proxy</c>.</summary>
public interface IHistoryTarget
{
    /// <summary>Name for reports.</summary>
    string Name { get; }

    /// <summary>
    /// Creates one instance, without waiting for it to connect. <c>Connected</c> completes when the instance first
    /// reaches the server; the run never waits on it, it only notes the time for the checker (an invalidation issued
    /// before that is remembered and replayed, so it binds other instances only from then on).
    /// </summary>
    Task<(IRbacCache Cache, IAsyncDisposable Owner, Task Connected)> CreateAsync(RedisServer server, TcpFaultProxy proxy, string keyPrefix, HistoryTtls ttls);
}

/// <summary>The library: its own <see cref="ServiceCollection"/> and provider per instance, built and used at once.</summary>
/// <param name="localCache">The types each instance keeps in its in-process cache (none by default).</param>
public sealed class LibraryHistoryTarget(LocalCacheTypes localCache = LocalCacheTypes.None) : IHistoryTarget
{
    /// <inheritdoc />
    public string Name => localCache == LocalCacheTypes.None ? "BendCare.Cache" : "BendCare.Cache with L1";

    /// <inheritdoc />
    public Task<(IRbacCache Cache, IAsyncDisposable Owner, Task Connected)> CreateAsync(RedisServer server, TcpFaultProxy proxy, string keyPrefix, HistoryTtls ttls)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(proxy);
        ArgumentNullException.ThrowIfNull(ttls);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBendCareRedisCache(o =>
        {
            o.Host = "127.0.0.1";
            o.Port = proxy.Port;
            o.Password = server.Password;
            o.KeyPrefix = keyPrefix;
            o.UserContextTtl = ttls.UserContext;
            o.UserBasicTtl = ttls.UserBasic;
            o.RolePermissionsTtl = ttls.RolePermissions;
            o.TokenNotBlacklistedTtl = ttls.TokenNotBlacklisted;
            o.TokenBlacklistedTtl = ttls.TokenBlacklisted;
            o.JwtPayloadTtl = ttls.JwtPayload;

            // A 2-core CI machine runs three instances and the server: a generous timeout keeps a busy moment from
            // looking like an unreachable server (which the checker would have to excuse).
            o.OperationTimeout = TimeSpan.FromSeconds(1);
            o.LocalCache.Types = localCache;
        });
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var cache = provider.GetRequiredService<IRbacCache>();
        return Task.FromResult<(IRbacCache, IAsyncDisposable, Task)>((cache, provider, provider.GetRequiredService<RedisConnection>().FirstConnected));
    }
}

/// <summary>The textbook GET→load→SET cache (<see cref="NaiveRbacCache"/>), to show the checker catches it.</summary>
public sealed class NaiveHistoryTarget : IHistoryTarget
{
    /// <inheritdoc />
    public string Name => "naive GET-load-SET";

    /// <inheritdoc />
    public async Task<(IRbacCache Cache, IAsyncDisposable Owner, Task Connected)> CreateAsync(RedisServer server, TcpFaultProxy proxy, string keyPrefix, HistoryTtls ttls)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(proxy);
        var connection = await ConnectionMultiplexer.ConnectAsync(server.CreateConfiguration(proxy.EndPoint));
        return (new NaiveRbacCache(connection.GetDatabase(), keyPrefix, ttls), connection, Task.CompletedTask);
    }
}

/// <summary>The library with L1 off, under a peer-style fire-and-forget in-process cache (<see cref="FireAndForgetL1Cache"/>).</summary>
public sealed class FireAndForgetL1HistoryTarget : IHistoryTarget
{
    private readonly LibraryHistoryTarget _library = new();

    /// <inheritdoc />
    public string Name => "fire-and-forget L1 over BendCare.Cache";

    /// <inheritdoc />
    public async Task<(IRbacCache Cache, IAsyncDisposable Owner, Task Connected)> CreateAsync(RedisServer server, TcpFaultProxy proxy, string keyPrefix, HistoryTtls ttls)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(proxy);
        var (inner, owner, connected) = await _library.CreateAsync(server, proxy, keyPrefix, ttls);
        var cache = await FireAndForgetL1Cache.CreateAsync(inner, owner, server.CreateConfiguration(proxy.EndPoint), keyPrefix);
        return (cache, cache, connected);
    }
}
