using BendCare.Cache;
using BendCare.Cache.CacheAside;
using BendCare.Cache.Configuration;
using BendCare.Cache.Connection;
using BendCare.Cache.DependencyInjection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the BendCare cache.</summary>
public static class BendCareCacheServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IRbacCache"/> (a singleton <see cref="RedisRbacCache"/>) configured from <c>REDIS_HOST</c>,
    /// <c>REDIS_PORT</c>, <c>REDIS_USERNAME</c>, <c>REDIS_PASSWORD</c>, <c>REDIS_TLS</c> (from <see cref="IConfiguration"/>
    /// when registered, else the environment) and the <c>BendCareCache</c> section. No <c>REDIS_HOST</c> disables the
    /// cache: every getter calls its loader. Calling it more than once is harmless (one connection).
    /// </summary>
    public static IServiceCollection AddBendCareRedisCache(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        // Still a factory because RegistrationTests pins this descriptor's shape; a by-type registration would behave
        // the same. The IConfiguration is optional: none registered ⇒ the process environment is read.
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
        services.TryAddSingleton<CacheMetrics>();
        services.TryAddSingleton<RedisConnection>();
        services.TryAddSingleton<CacheAsideEngine>();
        services.TryAddSingleton<RbacCacheTypes>();

        // A factory: RedisRbacCache is public and its constructor internal (its parameters are internal types), and
        // the container only calls public constructors.
        services.TryAddSingleton(static sp => new RedisRbacCache(
            sp.GetRequiredService<CacheAsideEngine>(),
            sp.GetRequiredService<RbacCacheTypes>(),
            sp.GetRequiredService<IOptions<BendCareCacheOptions>>().Value,
            sp.GetRequiredService<TimeProvider>()));

        // A factory that forwards: IRbacCache and RedisRbacCache must be the same instance, which a by-type
        // registration (a second RedisRbacCache) would not give.
        services.TryAddSingleton<IRbacCache>(static sp => sp.GetRequiredService<RedisRbacCache>());
        services.TryAddSingleton<RedisCacheHealthCheck>();

        // In a host the connection starts with the host, before the first request.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BendCareCacheStartup>());
    }
}
