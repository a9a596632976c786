using System.Collections.Concurrent;
using BendCare.Cache.CacheAside;
using BendCare.Cache.Configuration;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.UnitTests;

public class RegistrationTests
{
    private static ServiceCollection RegisteredTwice()
    {
        var services = TestServices.Services(TestServices.Configuration());
        services.AddBendCareRedisCache();
        return services;
    }

    [Theory]
    [InlineData(typeof(RedisRbacCache))]
    [InlineData(typeof(IRbacCache))]
    [InlineData(typeof(RedisConnection))]
    [InlineData(typeof(CacheAsideEngine))]
    [InlineData(typeof(IValidateOptions<BendCareCacheOptions>))]
    public void Registering_twice_leaves_exactly_one_descriptor(Type serviceType) =>
        Assert.Single(RegisteredTwice(), d => d.ServiceType == serviceType);

    [Fact]
    public async Task A_service_that_also_registers_the_options_value_and_a_logger_still_resolves_the_cache()
    {
        // The container picks a constructor by what it can resolve: only one constructor of each type may be public.
        var services = TestServices.Services(TestServices.Configuration());
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<BendCareCacheOptions>>().Value);
        services.AddSingleton<Microsoft.Extensions.Logging.ILogger>(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

        Assert.NotNull(provider.GetRequiredService<IRbacCache>());
    }

    [Fact]
    public void Registering_twice_binds_the_REDIS_variables_once()
    {
        var services = RegisteredTwice();

        Assert.Single(services, d => d.ServiceType == typeof(IConfigureOptions<BendCareCacheOptions>));
    }

    [Fact]
    public void Registrations_are_singletons()
    {
        var services = RegisteredTwice();

        Assert.Equal(ServiceLifetime.Singleton, services.Single(d => d.ServiceType == typeof(IRbacCache)).Lifetime);
        Assert.Equal(ServiceLifetime.Singleton, services.Single(d => d.ServiceType == typeof(RedisRbacCache)).Lifetime);
        Assert.Equal(ServiceLifetime.Singleton, services.Single(d => d.ServiceType == typeof(RedisConnection)).Lifetime);
    }

    [Fact]
    public async Task Resolving_IRbacCache_twice_gives_the_same_instance()
    {
        await using var provider = RegisteredTwice().BuildServiceProvider();

        var first = provider.GetRequiredService<IRbacCache>();
        var second = provider.GetRequiredService<IRbacCache>();

        Assert.Same(first, second);
        Assert.Same(first, provider.GetRequiredService<RedisRbacCache>());
        Assert.IsType<RedisRbacCache>(first);
    }

    [Fact]
    public async Task Disabled_cache_shares_one_disabled_connection()
    {
        await using var provider = RegisteredTwice().BuildServiceProvider();

        var cache = provider.GetRequiredService<RedisRbacCache>();
        var connection = provider.GetRequiredService<RedisConnection>();

        Assert.Same(connection, cache.Engine.Connection);
        Assert.False(connection.IsEnabled);
        Assert.False(connection.IsUsable);
        Assert.Equal("disabled", connection.Endpoint);
        Assert.Equal(0, connection.MultiplexersCreated);
    }

    [Fact]
    public async Task Each_overload_registers_one_cache()
    {
        var services = new ServiceCollection();
        var configuration = TestServices.Configuration();
        services.AddSingleton(configuration);
        services.AddBendCareRedisCache();
        services.AddBendCareRedisCache(o => o.KeyPrefix = "a:");
        services.AddBendCareRedisCache(configuration.GetSection("BendCareCache"));

        Assert.Single(services, d => d.ServiceType == typeof(IRbacCache));
        Assert.Single(services, d => d.ServiceType == typeof(RedisConnection));
        await using var provider = services.BuildServiceProvider();
        Assert.Equal("a:", provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value.KeyPrefix);
    }

    [Theory]
    [InlineData(typeof(CacheMetrics))]
    [InlineData(typeof(RedisConnection))]
    [InlineData(typeof(CacheAsideEngine))]
    [InlineData(typeof(RbacCacheTypes))]
    [InlineData(typeof(RedisCacheHealthCheck))]
    public void Components_are_registered_by_type(Type serviceType)
    {
        var descriptor = RegisteredTwice().Single(d => d.ServiceType == serviceType);

        Assert.Equal(serviceType, descriptor.ImplementationType);
    }

    [Fact]
    public async Task Components_log_through_the_registered_logger_factory_under_one_category()
    {
        var services = TestServices.Services(TestServices.Configuration());
        var logged = new LoggedCategories();
        services.AddLogging(b => b.AddProvider(logged));
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        provider.GetRequiredService<IRbacCache>();

        Assert.Contains(("BendCare.Cache", Log.CacheDisabledId), logged.Events);
    }

    [Fact]
    public async Task Resolves_without_logging_or_metrics_registered()
    {
        await using var provider = TestServices.Services(TestServices.Configuration())
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        Assert.NotNull(provider.GetRequiredService<IRbacCache>());
        Assert.NotNull(provider.GetRequiredService<RedisCacheHealthCheck>());
    }

    [Fact]
    public void Registering_on_a_null_collection_throws() =>
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddBendCareRedisCache());

    [Fact]
    public void Registration_reads_the_REDIS_variables_through_the_registered_configuration()
    {
        var services = RegisteredTwice();

        var descriptor = services.Single(d => d.ServiceType == typeof(IConfigureOptions<BendCareCacheOptions>));
        Assert.NotNull(descriptor.ImplementationFactory);
        Assert.Equal(typeof(RedisEnvironmentConfiguration), descriptor.ImplementationFactory!.GetType().GenericTypeArguments[1]);
    }
}

/// <summary>Records the category and event id of every log line.</summary>
internal sealed class LoggedCategories : ILoggerProvider
{
    public ConcurrentBag<(string Category, int EventId)> Events { get; } = [];

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Recorder(LoggedCategories owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Events.Add((category, eventId.Id));
    }
}
