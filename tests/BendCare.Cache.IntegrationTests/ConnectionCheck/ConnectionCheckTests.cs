using BendCare.Cache.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.ConnectionCheck;

/// <summary>
/// The connection check against real servers: what it reports when everything works, and the one reason it gives for
/// each way a connection goes wrong in production. The password never appears in anything it returns.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class ConnectionCheckTests(SharedRedisFixture redis, SecuredServerFixture secured) : IClassFixture<SecuredServerFixture>
{
    /// <summary>For failures the client only notices by waiting (refused, silent, no TLS answer): keeps those tests short.</summary>
    private static readonly TimeSpan FailureTimeout = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Check_succeeds_against_a_running_server_and_reports_product_version_mode_ping_and_probe()
    {
        var options = SharedServerOptions();

        var result = await BendCareConnectionCheck.RunAsync(options);

        Assert.True(result.Success, result.ToText());
        Assert.Null(result.FailureReason);
        Assert.Equal(ExpectedProduct(redis.Server), result.ServerProduct);
        Assert.False(string.IsNullOrWhiteSpace(result.ServerVersion));
        Assert.Equal(false, result.IsCluster);
        Assert.Equal("default", result.User);
        Assert.NotNull(result.PingRoundTrip);
        Assert.True(result.PingRoundTrip > TimeSpan.Zero);
        Assert.True(result.ProbeRoundTrip);
        Assert.False(result.Tls);
        Assert.StartsWith($"{redis.Server.Host}:{redis.Server.Port} ", result.Endpoint, StringComparison.Ordinal);
        Assert.StartsWith("OK", LastLine(result.ToText()), StringComparison.Ordinal);
        Assert.Empty(await ProbeKeysLeftAsync(redis.Server, options.KeyPrefix));
    }

    [Fact]
    public async Task Check_reports_refused_when_nothing_listens_on_the_port()
    {
        var result = await BendCareConnectionCheck.RunAsync(Options("127.0.0.1", RedisServer.GetFreePort()), FailureTimeout);

        AssertFailed(result, "refused");
        Assert.Null(result.PingRoundTrip);
        Assert.False(result.ProbeRoundTrip);
    }

    [Fact]
    public async Task Check_reports_timeout_when_the_server_accepts_but_never_answers()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Blackhole();
        proxy.Start();

        var result = await BendCareConnectionCheck.RunAsync(Options("127.0.0.1", proxy.Port), FailureTimeout);

        AssertFailed(result, "timeout");
    }

    [Theory]
    [InlineData("wrong-Pa55word-0123")]
    [InlineData(null)]
    public async Task Check_reports_auth_when_the_password_is_wrong_or_missing(string? password)
    {
        var options = Options(secured.Server.Host, secured.Server.Port);
        options.Password = password;

        var result = await BendCareConnectionCheck.RunAsync(options);

        AssertFailed(result, "auth");
        AssertNoSecret(result, password);
    }

    [Fact]
    public async Task Check_reports_tls_when_tls_is_on_against_a_plain_server()
    {
        var options = SharedServerOptions();
        options.UseTls = true;

        var result = await BendCareConnectionCheck.RunAsync(options, FailureTimeout);

        AssertFailed(result, "tls");
        Assert.True(result.Tls);
    }

    [Fact]
    public async Task Check_reports_dns_when_the_host_name_does_not_resolve()
    {
        var result = await BendCareConnectionCheck.RunAsync(Options("no-such-host.invalid", 6379));

        AssertFailed(result, "dns");
        Assert.Contains("no-such-host.invalid", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_reports_disabled_without_a_host()
    {
        var result = await BendCareConnectionCheck.RunAsync(new BendCareCacheOptions());

        AssertFailed(result, "disabled");
        Assert.Equal("disabled", result.Endpoint);
    }

    [Fact]
    public async Task Check_with_the_right_password_succeeds_and_shows_the_password_only_masked()
    {
        var options = Options(secured.Server.Host, secured.Server.Port);
        options.Password = SecuredServerFixture.Password;

        var result = await BendCareConnectionCheck.RunAsync(options);

        Assert.True(result.Success, result.ToText());
        Assert.Contains("password=****", result.Endpoint, StringComparison.Ordinal);
        AssertNoSecret(result, SecuredServerFixture.Password);
    }

    [Fact]
    public async Task Check_succeeds_with_product_unknown_when_info_and_acl_whoami_are_denied()
    {
        var options = Options(secured.Server.Host, secured.Server.Port);
        options.Username = SecuredServerFixture.RestrictedUser;
        options.Password = SecuredServerFixture.RestrictedPassword;

        var result = await BendCareConnectionCheck.RunAsync(options);

        Assert.True(result.Success, result.ToText());
        Assert.True(result.ProbeRoundTrip);
        Assert.Equal("unknown", result.ServerProduct);
        Assert.Null(result.ServerVersion);
        Assert.Equal(SecuredServerFixture.RestrictedUser, result.User);
        Assert.Contains(result.Notes, n => n.StartsWith("INFO", StringComparison.Ordinal));
        Assert.Contains(result.Notes, n => n.StartsWith("ACL WHOAMI", StringComparison.Ordinal));
        AssertNoSecret(result, SecuredServerFixture.RestrictedPassword);
    }

    [Fact]
    public async Task Check_reports_permission_when_the_user_may_not_write_the_probe_key()
    {
        var options = Options(secured.Server.Host, secured.Server.Port);
        options.Username = SecuredServerFixture.ForeignKeysUser;
        options.Password = SecuredServerFixture.ForeignKeysPassword;

        var result = await BendCareConnectionCheck.RunAsync(options);

        AssertFailed(result, "permission");
        Assert.Equal(SecuredServerFixture.ForeignKeysUser, result.User); // from ACL WHOAMI
        Assert.NotNull(result.PingRoundTrip);
        Assert.Contains(options.KeyPrefix, result.Message, StringComparison.Ordinal);
        AssertNoSecret(result, SecuredServerFixture.ForeignKeysPassword);
    }

    [Fact]
    public async Task Check_reports_cluster_mode_against_a_cluster_enabled_server()
    {
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { ExtraArgs = ["--cluster-enabled", "yes"] });
        await using (var admin = await server.ConnectAdminAsync())
        {
            var node = admin.GetServer(admin.GetEndPoints()[0]);
            await node.ExecuteAsync("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
            await WaitForClusterOkAsync(node);
        }

        var result = await BendCareConnectionCheck.RunAsync(Options(server.Host, server.Port));

        Assert.True(result.Success, result.ToText());
        Assert.Equal(true, result.IsCluster);
        Assert.Contains("mode:     cluster", result.ToText(), StringComparison.Ordinal);
    }

    private BendCareCacheOptions SharedServerOptions()
    {
        var options = Options(redis.Server.Host, redis.Server.Port);
        options.Password = redis.Server.Password;
        return options;
    }

    private static BendCareCacheOptions Options(string host, int port) => new()
    {
        Host = host,
        Port = port,
        KeyPrefix = SharedRedisFixture.NewKeyPrefix(),
    };

    private static void AssertFailed(ConnectionCheckResult result, string reason)
    {
        var text = result.ToText();
        Assert.False(result.Success, text);
        Assert.True(result.FailureReason == reason, $"expected the reason {reason}, got:\n{text}");
        Assert.Equal($"FAILED ({reason}): {result.Message}", LastLine(text));
        Assert.DoesNotContain('\n', result.Message);
    }

    private static void AssertNoSecret(ConnectionCheckResult result, string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            return;
        }

        Assert.DoesNotContain(password, result.ToText(), StringComparison.Ordinal);
        Assert.DoesNotContain(password, result.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(password, result.Endpoint, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Notes, n => n.Contains(password, StringComparison.Ordinal));
    }

    private static string LastLine(string text) => text.Split('\n')[^1].TrimEnd('\r');

    /// <summary>What the server under test calls itself; the shared server is usually <c>redis-server</c>.</summary>
    private static string ExpectedProduct(RedisServer server) =>
        server.ToString().Contains("valkey", StringComparison.OrdinalIgnoreCase) ? "Valkey"
        : server.Kind == RedisServerKind.Garnet ? "Garnet"
        : "Redis";

    private static async Task<List<RedisKey>> ProbeKeysLeftAsync(RedisServer server, string keyPrefix)
    {
        await using var admin = await server.ConnectAdminAsync();
        var keys = new List<RedisKey>();
        await foreach (var key in admin.GetServer(admin.GetEndPoints()[0]).KeysAsync(pattern: keyPrefix + "*"))
        {
            keys.Add(key);
        }

        return keys;
    }

    private static async Task WaitForClusterOkAsync(IServer node)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var info = (string?)await node.ExecuteAsync("CLUSTER", "INFO") ?? "";
            if (info.Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"single-node cluster did not reach cluster_state:ok: {info}");
            await Task.Delay(50);
        }
    }
}
