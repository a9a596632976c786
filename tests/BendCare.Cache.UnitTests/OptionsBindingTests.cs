using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// Options as bound by <c>AddBendCareRedisCache()</c> from an in-memory <see cref="IConfiguration"/>. Tests that set a
/// host only resolve the options, never the cache, so no connection is attempted.
/// </summary>
public class OptionsBindingTests
{
    [Fact]
    public async Task A_host_configured_in_code_before_registration_survives_an_unset_REDIS_HOST()
    {
        var services = TestServices.Services(TestServices.Configuration());
        var early = new ServiceCollection();
        early.Configure<BendCareCacheOptions>(o => o.Host = "configured.in.code");
        foreach (var descriptor in services)
        {
            ((ICollection<ServiceDescriptor>)early).Add(descriptor);
        }

        await using var provider = early.BuildServiceProvider();

        Assert.Equal("configured.in.code", provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value.Host);
    }

    [Fact]
    public async Task The_credential_renewal_options_are_bound_from_the_section_as_an_operator_would_set_them()
    {
        var configuration = TestServices.Configuration(
            ("BendCareCache:CredentialsTimeout", "00:00:03"),
            ("BendCareCache:CredentialsRefreshInterval", "00:10:00"),
            ("BendCareCache:MaxConnectionAge", "11:00:00"));
        await using var provider = TestServices.Services(configuration).BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(3), options.CredentialsTimeout);
        Assert.Equal(TimeSpan.FromMinutes(10), options.CredentialsRefreshInterval);
        Assert.Equal(TimeSpan.FromHours(11), options.MaxConnectionAge);
        Assert.Null(new BendCareCacheOptions().CredentialsRefreshInterval);
        Assert.Null(new BendCareCacheOptions().MaxConnectionAge);
    }

    [Fact]
    public async Task REDIS_variables_and_the_BendCareCache_section_are_bound_through_DI()
    {
        var configuration = TestServices.Configuration(
            ("REDIS_HOST", "redis.internal"),
            ("REDIS_PORT", "6380"),
            ("REDIS_USERNAME", "bcos-app"),
            ("REDIS_PASSWORD", "secret"),
            ("REDIS_TLS", "true"),
            ("BendCareCache:KeyPrefix", "bcos:dev:"),
            ("BendCareCache:UserContextTtl", "00:10:00"),
            ("BendCareCache:BreakerFailureThreshold", "7"));
        await using var provider = TestServices.Services(configuration).BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value;

        Assert.Equal("redis.internal", options.Host);
        Assert.Equal(6380, options.Port);
        Assert.Equal("bcos-app", options.Username);
        Assert.Equal("secret", options.Password);
        Assert.True(options.UseTls);
        Assert.Equal("bcos:dev:", options.KeyPrefix);
        Assert.Equal(TimeSpan.FromMinutes(10), options.UserContextTtl);
        Assert.Equal(7, options.BreakerFailureThreshold);
    }

    [Fact]
    public async Task Section_is_applied_after_the_REDIS_variables()
    {
        var configuration = TestServices.Configuration(
            ("REDIS_HOST", "redis.internal"),
            ("REDIS_PORT", "6380"),
            ("BendCareCache:Port", "6390"));
        await using var provider = TestServices.Services(configuration).BuildServiceProvider();

        Assert.Equal(6390, provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value.Port);
    }

    [Fact]
    public async Task Key_prefix_from_the_section_applies_in_disabled_mode_too()
    {
        var configuration = TestServices.Configuration(("BendCareCache:KeyPrefix", "bcos:dev:"));
        await using var provider = TestServices.Services(configuration).BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value;

        Assert.False(options.IsEnabled);
        Assert.Equal("bcos:dev:", options.KeyPrefix);
    }

    [Fact]
    public async Task Configure_overload_is_applied_on_top_of_the_REDIS_variables()
    {
        var services = new ServiceCollection();
        services.AddSingleton(TestServices.Configuration(("REDIS_HOST", "redis.internal"), ("REDIS_PORT", "6380")));
        services.AddBendCareRedisCache(o =>
        {
            o.Port = 6381;
            o.KeyPrefix = "bcos:test:";
        });
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value;

        Assert.Equal("redis.internal", options.Host);
        Assert.Equal(6381, options.Port);
        Assert.Equal("bcos:test:", options.KeyPrefix);
    }

    [Fact]
    public async Task Section_overload_binds_option_names_on_top_of_the_REDIS_variables()
    {
        var root = TestServices.Configuration(
            ("REDIS_HOST", "redis.internal"),
            ("Cache:KeyPrefix", "bcos:stage:"),
            ("Cache:JwtPayloadTtl", "00:02:00"));
        var services = new ServiceCollection();
        services.AddSingleton(root);
        services.AddBendCareRedisCache(root.GetSection("Cache"));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value;

        Assert.Equal("redis.internal", options.Host);
        Assert.Equal("bcos:stage:", options.KeyPrefix);
        Assert.Equal(TimeSpan.FromMinutes(2), options.JwtPayloadTtl);
    }

    [Fact]
    public async Task Invalid_REDIS_PORT_fails_when_the_options_are_resolved_naming_REDIS_PORT()
    {
        var configuration = TestServices.Configuration(("REDIS_HOST", "redis.internal"), ("REDIS_PORT", "abc"));
        await using var provider = TestServices.Services(configuration).BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value);

        Assert.Contains("REDIS_PORT", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Out_of_range_REDIS_PORT_fails_when_the_cache_is_resolved_naming_the_option()
    {
        var configuration = TestServices.Configuration(("REDIS_HOST", "redis.internal"), ("REDIS_PORT", "70000"));
        await using var provider = TestServices.Services(configuration).BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IRbacCache>());

        Assert.Contains("REDIS_PORT", ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(BendCareCacheOptions.Port), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_operation_timeout_fails_when_the_options_are_resolved_naming_the_option()
    {
        var configuration = TestServices.Configuration(("REDIS_HOST", "redis.internal"), ("BendCareCache:OperationTimeout", "00:00:00"));
        await using var provider = TestServices.Services(configuration).BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value);

        Assert.Contains(nameof(BendCareCacheOptions.OperationTimeout), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_ttl_fails_when_the_cache_is_resolved_even_when_disabled()
    {
        var configuration = TestServices.Configuration(("BendCareCache:UserContextTtl", "-00:00:01"));
        await using var provider = TestServices.Services(configuration).BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IRbacCache>());

        Assert.Contains(nameof(BendCareCacheOptions.UserContextTtl), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_REDIS_TLS_fails_when_the_options_are_resolved_naming_REDIS_TLS()
    {
        var configuration = TestServices.Configuration(("REDIS_HOST", "redis.internal"), ("REDIS_TLS", "sometimes"));
        await using var provider = TestServices.Services(configuration).BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value);

        Assert.Contains("REDIS_TLS", ex.Message, StringComparison.Ordinal);
    }
}
