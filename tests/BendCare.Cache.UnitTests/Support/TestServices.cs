using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace BendCare.Cache.UnitTests.Support;

/// <summary>
/// Builds service collections with an explicit <see cref="IConfiguration"/>, so a <c>REDIS_HOST</c> set in the
/// test process's environment can never switch a test from disabled mode to a real connection attempt.
/// </summary>
internal static class TestServices
{
    public static IConfiguration Configuration(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(static v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();

    public static ServiceCollection Services(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddBendCareRedisCache();
        return services;
    }

    /// <summary>No <c>REDIS_HOST</c>: the cache is disabled and every getter calls its loader.</summary>
    public static ServiceProvider DisabledProvider() =>
        Services(Configuration()).BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
}
