using System.Net;
using BendCare.Cache.Connection;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

public class RedisConfigurationFactoryTests
{
    private const string Password = "pa55-w0rd-very-secret";

    private static BendCareCacheOptions TlsOptions() => new()
    {
        Host = "cache.abc123.serverless.use1.cache.amazonaws.com",
        Port = 6379,
        UseTls = true,
        Username = "bcos-app",
        Password = Password,
    };

    [Fact]
    public void Explicit_port_6379_is_kept_with_TLS_on()
    {
        var config = RedisConfigurationFactory.Create(TlsOptions());

        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(config.EndPoints));
        Assert.Equal("cache.abc123.serverless.use1.cache.amazonaws.com", endpoint.Host);
        Assert.Equal(6379, endpoint.Port);
        Assert.True(config.Ssl);
        Assert.Equal("cache.abc123.serverless.use1.cache.amazonaws.com", config.SslHost);
    }

    [Fact]
    public void Default_port_is_6379_even_with_TLS_on()
    {
        var config = RedisConfigurationFactory.Create(new BendCareCacheOptions { Host = "redis.internal", UseTls = true });

        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(config.EndPoints));
        Assert.Equal(6379, endpoint.Port);
    }

    [Fact]
    public void Custom_port_is_kept_without_TLS()
    {
        var config = RedisConfigurationFactory.Create(new BendCareCacheOptions { Host = "redis.internal", Port = 6380 });

        var endpoint = Assert.IsType<DnsEndPoint>(Assert.Single(config.EndPoints));
        Assert.Equal(6380, endpoint.Port);
        Assert.False(config.Ssl);
        Assert.Null(config.SslHost);
    }

    [Fact]
    public void IP_address_host_becomes_an_IP_endpoint_with_the_port()
    {
        var config = RedisConfigurationFactory.Create(new BendCareCacheOptions { Host = "10.0.0.12", Port = 6379 });

        var endpoint = Assert.IsType<IPEndPoint>(Assert.Single(config.EndPoints));
        Assert.Equal(IPAddress.Parse("10.0.0.12"), endpoint.Address);
        Assert.Equal(6379, endpoint.Port);
    }

    [Fact]
    public void Connection_never_aborts_on_connect_failure_and_fails_fast_instead_of_queueing()
    {
        var config = RedisConfigurationFactory.Create(TlsOptions());

        Assert.False(config.AbortOnConnectFail);
        Assert.Same(BacklogPolicy.FailFast, config.BacklogPolicy);
    }

    [Fact]
    public void User_and_password_are_applied()
    {
        var config = RedisConfigurationFactory.Create(TlsOptions());

        Assert.Equal("bcos-app", config.User);
        Assert.Equal(Password, config.Password);
    }

    [Fact]
    public void Empty_user_and_password_are_not_applied()
    {
        var config = RedisConfigurationFactory.Create(new BendCareCacheOptions { Host = "redis.internal", Username = "", Password = "" });

        Assert.Null(config.User);
        Assert.Null(config.Password);
    }

    [Fact]
    public void Connect_timeout_comes_from_the_options()
    {
        var config = RedisConfigurationFactory.Create(new BendCareCacheOptions { Host = "redis.internal", ConnectTimeout = TimeSpan.FromSeconds(7) });

        Assert.Equal(7000, config.ConnectTimeout);
    }

    [Fact]
    public void Client_name_defaults_to_the_library_name()
    {
        var config = RedisConfigurationFactory.Create(TlsOptions());

        Assert.Equal("BendCare.Cache", config.ClientName);
    }

    [Fact]
    public void ConfigureConnection_is_applied_last_and_can_override_the_client_name()
    {
        var options = TlsOptions();
        bool sawSslAndEndpoint = false;
        options.ConfigureConnection = c =>
        {
            sawSslAndEndpoint = c.Ssl && c.EndPoints.Count == 1 && c.ClientName == "BendCare.Cache" && c.Password == Password;
            c.ClientName = "bcos-api";
            c.AbortOnConnectFail = true;
        };

        var config = RedisConfigurationFactory.Create(options);

        Assert.True(sawSslAndEndpoint);
        Assert.Equal("bcos-api", config.ClientName);
        Assert.True(config.AbortOnConnectFail);
    }

    [Fact]
    public void Describe_shows_endpoint_tls_and_user_but_never_the_password()
    {
        string description = RedisConfigurationFactory.Describe(TlsOptions());

        Assert.DoesNotContain(Password, description, StringComparison.Ordinal);
        Assert.Contains("cache.abc123.serverless.use1.cache.amazonaws.com:6379", description, StringComparison.Ordinal);
        Assert.Contains("tls=on", description, StringComparison.Ordinal);
        Assert.Contains("user=bcos-app", description, StringComparison.Ordinal);
        Assert.Contains("password=****", description, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_without_credentials_says_default_user_and_no_password()
    {
        string description = RedisConfigurationFactory.Describe(new BendCareCacheOptions { Host = "localhost" });

        Assert.Equal("localhost:6379 (tls=off, user=default, password=none)", description);
    }

    [Theory]
    [InlineData("p")]
    [InlineData("****")]
    [InlineData("tls=on")]
    public void Describe_never_contains_a_password_whatever_it_looks_like(string password)
    {
        var options = new BendCareCacheOptions { Host = "h", Username = "u", Password = $"secret-{password}-value" };

        Assert.DoesNotContain($"secret-{password}-value", RedisConfigurationFactory.Describe(options), StringComparison.Ordinal);
    }
}
