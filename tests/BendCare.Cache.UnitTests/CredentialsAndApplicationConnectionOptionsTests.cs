using BendCare.Cache.Configuration;
using BendCare.Cache.Connection;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// The options of rotating credentials and of a connection the application owns: what is rejected at start-up (with
/// the option's name), and what the credentials look like in text. What they do against a server is proven by the
/// integration tests (RotatingCredentialsTests, ApplicationConnectionTests).
/// </summary>
public class CredentialsAndApplicationConnectionOptionsTests
{
    private readonly BendCareCacheOptionsValidator _validator = new();

    [Fact]
    public void Credentials_text_never_shows_the_password()
    {
        var credentials = new RedisCredentials("app-user", "s3cret-token");

        Assert.Equal("user=app-user, password=****", credentials.ToString());
        Assert.Equal("user=default, password=none", new RedisCredentials("", "").ToString());
    }

    [Fact]
    public void Empty_user_and_password_mean_none()
    {
        var credentials = new RedisCredentials("", "");

        Assert.Null(credentials.Username);
        Assert.Null(credentials.Password);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    [InlineData("1.00:00:01")]
    public void Refresh_interval_outside_its_range_is_rejected_with_its_name(string value)
    {
        var result = _validator.Validate(null, new BendCareCacheOptions { Host = "redis.internal", CredentialsRefreshInterval = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) });

        Assert.True(result.Failed);
        Assert.Contains(nameof(BendCareCacheOptions.CredentialsRefreshInterval), result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Max_connection_age_must_be_positive()
    {
        var result = _validator.Validate(null, new BendCareCacheOptions { Host = "redis.internal", MaxConnectionAge = TimeSpan.Zero });

        Assert.True(result.Failed);
        Assert.Contains(nameof(BendCareCacheOptions.MaxConnectionAge), result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Rotation_options_with_a_provider_are_valid()
    {
        var options = new BendCareCacheOptions
        {
            Host = "redis.internal",
            CredentialsProvider = static _ => ValueTask.FromResult(new RedisCredentials("u", "p")),
            CredentialsRefreshInterval = TimeSpan.FromMinutes(10),
            MaxConnectionAge = TimeSpan.FromHours(11),
        };

        Assert.True(_validator.Validate(null, options).Succeeded);
    }

    [Fact]
    public void An_application_connection_enables_the_cache_without_a_host_and_skips_the_port_check()
    {
        var options = new BendCareCacheOptions { Port = 0 };
        options.UseConnection(_ => InertMultiplexer.Create());

        Assert.True(options.IsEnabled);
        Assert.True(_validator.Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(nameof(BendCareCacheOptions.ConfigureConnection))]
    [InlineData(nameof(BendCareCacheOptions.CredentialsProvider))]
    [InlineData(nameof(BendCareCacheOptions.CredentialsRefreshInterval))]
    [InlineData(nameof(BendCareCacheOptions.MaxConnectionAge))]
    public void Settings_that_only_shape_a_connection_the_library_builds_are_rejected_with_an_application_connection(string option)
    {
        var options = new BendCareCacheOptions();
        options.UseConnection(InertMultiplexer.Create());
        switch (option)
        {
            case nameof(BendCareCacheOptions.ConfigureConnection):
                options.ConfigureConnection = static _ => { };
                break;
            case nameof(BendCareCacheOptions.CredentialsProvider):
                options.CredentialsProvider = static _ => ValueTask.FromResult(new RedisCredentials(null, null));
                break;
            case nameof(BendCareCacheOptions.CredentialsRefreshInterval):
                options.CredentialsRefreshInterval = TimeSpan.FromMinutes(10);
                break;
            default:
                options.MaxConnectionAge = TimeSpan.FromHours(11);
                break;
        }

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(option, result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("UseConnection", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void UseConnection_rejects_null_at_the_call()
    {
        var options = new BendCareCacheOptions();

        Assert.Equal("connection", Assert.Throws<ArgumentNullException>(() => options.UseConnection((IConnectionMultiplexer)null!)).ParamName);
        Assert.Equal("connectionFactory", Assert.Throws<ArgumentNullException>(() => options.UseConnection((Func<IServiceProvider, IConnectionMultiplexer>)null!)).ParamName);
    }

    [Fact]
    public async Task A_factory_that_returns_null_fails_when_the_cache_is_resolved_naming_UseConnection()
    {
        var services = TestServices.Services(TestServices.Configuration());
        services.Configure<BendCareCacheOptions>(o => o.UseConnection(_ => null!));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IRbacCache>());

        Assert.Contains("UseConnection", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registered_credentials_provider_with_an_application_connection_fails_when_the_cache_is_resolved()
    {
        var services = TestServices.Services(TestServices.Configuration());
        services.Configure<BendCareCacheOptions>(o => o.UseConnection(InertMultiplexer.Create()));
        services.AddSingleton<IRedisCredentialsProvider, FixedProvider>();
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IRbacCache>());

        Assert.Contains(nameof(IRedisCredentialsProvider), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_application_connection_with_a_conflicting_option_fails_validation_at_resolve()
    {
        var services = TestServices.Services(TestServices.Configuration());
        services.Configure<BendCareCacheOptions>(o =>
        {
            o.UseConnection(InertMultiplexer.Create());
            o.MaxConnectionAge = TimeSpan.FromHours(1);
        });
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IRbacCache>());

        Assert.Contains(nameof(BendCareCacheOptions.MaxConnectionAge), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_endpoint_description_says_a_provider_supplies_the_credentials_and_never_shows_a_password()
    {
        var options = new BendCareCacheOptions { Host = "cache.example", Username = "static-user", Password = "static-secret" };

        string described = RedisConfigurationFactory.Describe(options, rotatingCredentials: true);

        Assert.Equal("cache.example:6379 (tls=off, credentials from the credentials provider)", described);
    }

    [Fact]
    public void The_configuration_takes_the_provider_credentials_not_the_static_ones()
    {
        var options = new BendCareCacheOptions { Host = "cache.example", Username = "static-user", Password = "static-secret" };

        var config = RedisConfigurationFactory.Create(options, new RedisCredentials("rotated-user", "rotated-secret"));

        Assert.Equal("rotated-user", config.User);
        Assert.Equal("rotated-secret", config.Password);
    }

    private sealed class FixedProvider : IRedisCredentialsProvider
    {
        public ValueTask<RedisCredentials> GetCredentialsAsync(CancellationToken cancellationToken) => ValueTask.FromResult(new RedisCredentials("u", "p"));
    }
}
