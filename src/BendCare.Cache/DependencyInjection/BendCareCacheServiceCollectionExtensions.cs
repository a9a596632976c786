using System.Diagnostics.Metrics;
using BendCare.Cache;
using BendCare.Cache.CacheAside;
using BendCare.Cache.Configuration;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the BendCare cache.</summary>
public static class BendCareCacheServiceCollectionExtensions
{
    private const string LoggerCategory = "BendCare.Cache";

    /// <summary>
    /// Registers <see cref="IRbacCache"/> (a singleton <see cref="RedisRbacCache"/>) configured from <c>REDIS_HOST</c>,
    /// <c>REDIS_PORT</c>, <c>REDIS_USERNAME</c>, <c>REDIS_PASSWORD</c>, <c>REDIS_TLS</c> (from <see cref="IConfiguration"/>
    /// when registered, else the environment) and the <c>BendCareCache</c> section. No <c>REDIS_HOST</c> disables the
    /// cache: every getter calls its loader. Calling it more than once is harmless (one connection).
    /// </summary>
    public static IServiceCollection AddBendCareRedisCache(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<BendCareCacheOptions>, RedisEnvironmentConfiguration>(
            static sp => new RedisEnvironmentConfiguration(sp.GetService<IConfiguration>())));
        AddCore(services);
        return services;
    }

    /// <summary>
    /// Registers the cache like <see cref="AddBendCareRedisCache(IServiceCollection)"/>, then applies
    /// <paramref name="configure"/> on top of the <c>REDIS_*</c> settings.
    /// </summary>
    public static IServiceCollection AddBendCareRedisCache(this IServiceCollection services, Action<BendCareCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddBendCareRedisCache();
        services.Configure(configure);
        return services;
    }

    /// <summary>
    /// Registers the cache like <see cref="AddBendCareRedisCache(IServiceCollection)"/>, then binds
    /// <paramref name="section"/> (option names as keys, e.g. <c>Host</c>, <c>KeyPrefix</c>, <c>UserContextTtl</c>) on top.
    /// </summary>
    public static IServiceCollection AddBendCareRedisCache(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddBendCareRedisCache();
        services.Configure<BendCareCacheOptions>(o => section.Bind(o));
        return services;
    }

    private static void AddCore(IServiceCollection services)
    {
        services.AddOptions<BendCareCacheOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BendCareCacheOptions>, BendCareCacheOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp => new CacheMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton(static sp => new RedisConnection(
            sp.GetRequiredService<IOptions<BendCareCacheOptions>>().Value,
            sp.GetRequiredService<CacheMetrics>(),
            Logger(sp),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(static sp => new CacheAsideEngine(
            sp.GetRequiredService<RedisConnection>(),
            sp.GetRequiredService<IOptions<BendCareCacheOptions>>().Value,
            sp.GetRequiredService<CacheMetrics>(),
            Logger(sp),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<BendCareCacheOptions>>().Value;
            return new RedisRbacCache(sp.GetRequiredService<CacheAsideEngine>(), new RbacCacheTypes(options), options, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton<IRbacCache>(static sp => sp.GetRequiredService<RedisRbacCache>());
        services.TryAddSingleton(static sp => new RedisCacheHealthCheck(sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<CacheAsideEngine>()));
    }

    private static ILogger Logger(IServiceProvider services) =>
        services.GetService<ILoggerFactory>()?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;
}
