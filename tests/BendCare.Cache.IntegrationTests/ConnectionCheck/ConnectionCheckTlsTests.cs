using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.IntegrationTests.ConnectionCheck;

/// <summary>
/// The connection check against a TLS-only server, as ElastiCache Serverless is: trusted, untrusted, and TLS forgotten.
/// </summary>
public sealed class ConnectionCheckTlsTests(TlsServerFixture tls) : IClassFixture<TlsServerFixture>
{
    [Fact]
    public async Task Check_over_tls_succeeds_when_the_server_certificate_is_trusted()
    {
        var options = Options(useTls: true);
        options.ConfigureConnection = c => c.TrustIssuer(tls.Certificates.CaCertificatePath);

        var result = await BendCareConnectionCheck.RunAsync(options);

        Assert.True(result.Success, result.ToText());
        Assert.True(result.Tls);
        Assert.True(result.ProbeRoundTrip);
        Assert.Contains("tls=on", result.Endpoint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_reports_tls_when_the_server_certificate_is_not_trusted()
    {
        var result = await BendCareConnectionCheck.RunAsync(Options(useTls: true));

        Assert.False(result.Success);
        Assert.True(result.FailureReason == "tls", result.ToText());
        Assert.Contains("certificate", result.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Check_reports_tls_and_says_to_turn_it_on_when_a_plain_client_meets_a_tls_only_server()
    {
        var result = await BendCareConnectionCheck.RunAsync(Options(useTls: false));

        Assert.False(result.Success);
        Assert.True(result.FailureReason == "tls", result.ToText());
        Assert.Contains("REDIS_TLS=true", result.Message, StringComparison.Ordinal);
    }

    private BendCareCacheOptions Options(bool useTls) => new()
    {
        Host = tls.Server.Host,
        Port = tls.Server.Port,
        UseTls = useTls,
        KeyPrefix = SharedRedisFixture.NewKeyPrefix(),
    };
}

/// <summary>A TLS-only <c>redis-server</c> with a throw-away CA (clients need no certificate of their own).</summary>
public sealed class TlsServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public TestCertificates Certificates { get; } = TestCertificates.Create();

    public RedisServer Server => _server ?? throw new InvalidOperationException("The TLS server has not been started.");

    public async Task InitializeAsync() =>
        _server = await RedisServer.StartAsync(new RedisServerOptions { Tls = true, ExtraArgs = Certificates.ServerArguments });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Certificates.Dispose();
    }
}
