using System.Globalization;
using BendCare.Cache.Configuration;

namespace BendCare.Cache.UnitTests;

public class OptionsValidatorTests
{
    private readonly BendCareCacheOptionsValidator _validator = new();

    [Fact]
    public void Default_options_are_valid_when_disabled() =>
        Assert.True(_validator.Validate(null, new BendCareCacheOptions()).Succeeded);

    [Fact]
    public void Default_options_are_valid_with_a_host() =>
        Assert.True(_validator.Validate(null, new BendCareCacheOptions { Host = "redis.internal" }).Succeeded);

    [Theory]
    [InlineData(nameof(BendCareCacheOptions.Port), "0")]
    [InlineData(nameof(BendCareCacheOptions.Port), "-1")]
    [InlineData(nameof(BendCareCacheOptions.Port), "65536")]
    [InlineData(nameof(BendCareCacheOptions.Port), "70000")]
    [InlineData(nameof(BendCareCacheOptions.UserContextTtl), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.UserContextTtl), "-00:00:01")]
    [InlineData(nameof(BendCareCacheOptions.RolePermissionsTtl), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.RolePermissionsTtl), "-1.00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.UserBasicTtl), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.UserBasicTtl), "-00:05:00")]
    [InlineData(nameof(BendCareCacheOptions.TokenBlacklistedTtl), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.TokenBlacklistedTtl), "-01:00:00")]
    [InlineData(nameof(BendCareCacheOptions.TokenNotBlacklistedTtl), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.TokenNotBlacklistedTtl), "-00:01:00")]
    [InlineData(nameof(BendCareCacheOptions.JwtPayloadTtl), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.JwtPayloadTtl), "-00:05:00")]
    [InlineData(nameof(BendCareCacheOptions.OperationTimeout), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.OperationTimeout), "-00:00:00.150")]
    [InlineData(nameof(BendCareCacheOptions.OperationTimeout), "00:00:31")]
    [InlineData(nameof(BendCareCacheOptions.OperationTimeout), "00:00:10.001")]
    [InlineData(nameof(BendCareCacheOptions.TokenClockSkew), "-00:00:01")]
    [InlineData(nameof(BendCareCacheOptions.TokenClockSkew), "1.00:00:01")]
    [InlineData(nameof(BendCareCacheOptions.BreakerStablePeriod), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.EvictionCheckInterval), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.EvictionRecentWindow), "-00:00:01")]
    [InlineData(nameof(BendCareCacheOptions.ConnectTimeout), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.BreakerOpenDuration), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.BreakerMaxOpenDuration), "00:00:00.100")]
    [InlineData(nameof(BendCareCacheOptions.ReconnectAfter), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.MinReconnectInterval), "-00:00:01")]
    [InlineData(nameof(BendCareCacheOptions.BreakerFailureThreshold), "0")]
    [InlineData(nameof(BendCareCacheOptions.BreakerFailureThreshold), "-3")]
    [InlineData(nameof(BendCareCacheOptions.MaxPendingInvalidations), "0")]
    [InlineData(nameof(BendCareCacheOptions.MaxPendingWriteBacks), "0")]
    [InlineData(nameof(BendCareCacheOptions.CredentialsTimeout), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.CredentialsTimeout), "00:01:00.001")]
    public void Invalid_option_is_rejected_with_its_name_in_the_message(string option, string value)
    {
        var options = new BendCareCacheOptions { Host = "redis.internal" };
        Set(options, option, value);

        var result = _validator.Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(option, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("70000")]
    public void Invalid_port_message_names_the_REDIS_PORT_variable(string port)
    {
        var options = new BendCareCacheOptions { Host = "redis.internal", Port = int.Parse(port, CultureInfo.InvariantCulture) };

        var result = _validator.Validate(null, options);

        Assert.Contains("REDIS_PORT", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(port, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("6379")]
    [InlineData("65535")]
    public void Port_bounds_are_inclusive(string port)
    {
        var options = new BendCareCacheOptions { Host = "redis.internal", Port = int.Parse(port, CultureInfo.InvariantCulture) };

        Assert.True(_validator.Validate(null, options).Succeeded);
    }

    [Fact]
    public void Port_is_not_checked_when_the_cache_is_disabled() =>
        Assert.True(_validator.Validate(null, new BendCareCacheOptions { Port = 0 }).Succeeded);

    [Fact]
    public void Ttls_are_checked_even_when_the_cache_is_disabled()
    {
        var result = _validator.Validate(null, new BendCareCacheOptions { UserContextTtl = TimeSpan.Zero });

        Assert.True(result.Failed);
        Assert.Contains(nameof(BendCareCacheOptions.UserContextTtl), result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(" redis.internal")]
    [InlineData("redis.internal ")]
    [InlineData("redis.internal\n")]
    [InlineData("redis\u0000internal")]
    public void Host_with_surrounding_whitespace_or_control_characters_is_rejected(string host)
    {
        var result = _validator.Validate(null, new BendCareCacheOptions { Host = host });

        Assert.True(result.Failed);
        Assert.Contains("Host", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("REDIS_HOST", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_key_prefix_is_rejected()
    {
        var result = _validator.Validate(null, new BendCareCacheOptions { KeyPrefix = null! });

        Assert.True(result.Failed);
        Assert.Contains(nameof(BendCareCacheOptions.KeyPrefix), result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bcos:\n:")]
    [InlineData("bcos\u0000")]
    public void Key_prefix_with_control_characters_is_rejected(string prefix)
    {
        var result = _validator.Validate(null, new BendCareCacheOptions { KeyPrefix = prefix });

        Assert.True(result.Failed);
        Assert.Contains(nameof(BendCareCacheOptions.KeyPrefix), result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_prefix_longer_than_128_characters_is_rejected()
    {
        Assert.True(_validator.Validate(null, new BendCareCacheOptions { KeyPrefix = new string('p', 128) }).Succeeded);

        var result = _validator.Validate(null, new BendCareCacheOptions { KeyPrefix = new string('p', 129) });

        Assert.True(result.Failed);
        Assert.Contains(nameof(BendCareCacheOptions.KeyPrefix), result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Operation_timeout_of_exactly_10_seconds_is_accepted() =>
        Assert.True(_validator.Validate(null, new BendCareCacheOptions { OperationTimeout = TimeSpan.FromSeconds(10) }).Succeeded);

    [Fact]
    public void Max_open_duration_equal_to_open_duration_is_accepted() =>
        Assert.True(_validator.Validate(null, new BendCareCacheOptions
        {
            BreakerOpenDuration = TimeSpan.FromSeconds(5),
            BreakerMaxOpenDuration = TimeSpan.FromSeconds(5),
        }).Succeeded);

    [Fact]
    public void Every_failure_is_reported_at_once()
    {
        var result = _validator.Validate(null, new BendCareCacheOptions
        {
            Host = "redis.internal",
            Port = 0,
            UserContextTtl = TimeSpan.Zero,
            MaxPendingWriteBacks = 0,
        });

        Assert.Equal(3, result.Failures!.Count());
    }

    [Theory]
    [InlineData(nameof(BendCareCacheOptions.UserContextTtl), "00:00:00")]
    [InlineData(nameof(BendCareCacheOptions.OperationTimeout), "00:00:10.001")]
    [InlineData(nameof(BendCareCacheOptions.TokenClockSkew), "-00:00:01")]
    [InlineData(nameof(BendCareCacheOptions.BreakerFailureThreshold), "0")]
    public void Single_value_rules_are_checked_by_the_generated_attribute_validator(string option, string value)
    {
        var options = new BendCareCacheOptions();
        Set(options, option, value);

        var result = new BendCareCacheAttributeValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(option, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Port_and_cross_field_rules_are_not_attributes_so_a_disabled_cache_with_any_port_passes_them() =>
        Assert.True(new BendCareCacheAttributeValidator().Validate(null, new BendCareCacheOptions
        {
            Host = "redis.internal",
            Port = 0,
            BreakerOpenDuration = TimeSpan.FromSeconds(5),
            BreakerMaxOpenDuration = TimeSpan.FromSeconds(1),
        }).Succeeded);

    [Fact]
    public void Attribute_and_hand_written_failures_are_reported_together()
    {
        var result = _validator.Validate(null, new BendCareCacheOptions
        {
            Host = "redis.internal",
            Port = 0,
            TokenClockSkew = TimeSpan.FromDays(2),
            BreakerOpenDuration = TimeSpan.FromSeconds(5),
            BreakerMaxOpenDuration = TimeSpan.FromSeconds(1),
        });

        Assert.Equal(3, result.Failures!.Count());
        Assert.Contains(nameof(BendCareCacheOptions.Port), result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(nameof(BendCareCacheOptions.TokenClockSkew), result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(nameof(BendCareCacheOptions.BreakerMaxOpenDuration), result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_key_prefix_is_accepted() =>
        Assert.True(_validator.Validate(null, new BendCareCacheOptions { KeyPrefix = "" }).Succeeded);

    private static void Set(BendCareCacheOptions options, string name, string value)
    {
        var property = typeof(BendCareCacheOptions).GetProperty(name)!;
        object parsed = property.PropertyType == typeof(TimeSpan)
            ? TimeSpan.Parse(value, CultureInfo.InvariantCulture)
            : int.Parse(value, CultureInfo.InvariantCulture);
        property.SetValue(options, parsed);
    }
}
