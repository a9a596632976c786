using BendCare.Cache.Configuration;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.UnitTests;

public class RedisEnvironmentConfigurationTests
{
    private static BendCareCacheOptions Apply(params (string Name, string? Value)[] variables)
    {
        var values = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        var options = new BendCareCacheOptions();
        RedisEnvironmentConfiguration.Apply(options, name => values.GetValueOrDefault(name));
        return options;
    }

    [Fact]
    public void All_REDIS_variables_are_applied()
    {
        var options = Apply(
            ("REDIS_HOST", "redis.internal"),
            ("REDIS_PORT", "6380"),
            ("REDIS_USERNAME", "bcos-app"),
            ("REDIS_PASSWORD", "secret"),
            ("REDIS_TLS", "true"));

        Assert.Equal("redis.internal", options.Host);
        Assert.Equal(6380, options.Port);
        Assert.Equal("bcos-app", options.Username);
        Assert.Equal("secret", options.Password);
        Assert.True(options.UseTls);
        Assert.True(options.IsEnabled);
    }

    [Fact]
    public void No_variables_leave_the_defaults_and_the_cache_disabled()
    {
        var options = Apply();

        Assert.Null(options.Host);
        Assert.False(options.IsEnabled);
        Assert.Equal(6379, options.Port);
        Assert.Null(options.Username);
        Assert.Null(options.Password);
        Assert.False(options.UseTls);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Blank_REDIS_HOST_disables_the_cache(string host) =>
        Assert.False(Apply(("REDIS_HOST", host)).IsEnabled);

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Blank_REDIS_PORT_keeps_the_default_port(string port) =>
        Assert.Equal(6379, Apply(("REDIS_HOST", "h"), ("REDIS_PORT", port)).Port);

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("6379x")]
    [InlineData("1e3")]
    [InlineData("99999999999")]
    public void Unparsable_REDIS_PORT_throws_OptionsValidationException_naming_REDIS_PORT(string port)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Apply(("REDIS_HOST", "h"), ("REDIS_PORT", port)));

        Assert.Contains("REDIS_PORT", ex.Message, StringComparison.Ordinal);
        Assert.Contains(port, ex.Message, StringComparison.Ordinal);
        Assert.Equal(typeof(BendCareCacheOptions), ex.OptionsType);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData("True", true)]
    [InlineData("1", true)]
    [InlineData("yes", true)]
    [InlineData(" true ", true)]
    [InlineData("false", false)]
    [InlineData("FALSE", false)]
    [InlineData("0", false)]
    [InlineData("no", false)]
    public void REDIS_TLS_accepts_true_false_1_0(string value, bool expected) =>
        Assert.Equal(expected, Apply(("REDIS_HOST", "h"), ("REDIS_TLS", value)).UseTls);

    [Theory]
    [InlineData("maybe")]
    [InlineData("2")]
    [InlineData("on")]
    public void Invalid_REDIS_TLS_throws_OptionsValidationException_naming_REDIS_TLS(string value)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Apply(("REDIS_HOST", "h"), ("REDIS_TLS", value)));

        Assert.Contains("REDIS_TLS", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_REDIS_USERNAME_and_REDIS_PASSWORD_do_not_clear_configured_values()
    {
        var options = new BendCareCacheOptions { Username = "configured-user", Password = "configured-password" };

        RedisEnvironmentConfiguration.Apply(options, name => name is "REDIS_USERNAME" or "REDIS_PASSWORD" ? "" : null);

        Assert.Equal("configured-user", options.Username);
        Assert.Equal("configured-password", options.Password);
    }
}
