using BendCare.Cache.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.Topology;

/// <summary>
/// A real <c>redis-server</c> that speaks only TLS (no plain port), with a certificate for 127.0.0.1/localhost issued
/// by a throw-away CA generated in-process, and a second CA that did not issue it (for "untrusted" tests). Clients
/// need no certificate of their own (<c>--tls-auth-clients no</c>), like ElastiCache.
/// </summary>
public sealed class TlsServerFixture : IAsyncLifetime
{
    private TestCertificates? _certificates;
    private TestCertificates? _otherCa;
    private RedisServer? _server;

    public RedisServer Server => _server ?? throw new InvalidOperationException("The TLS server has not been started.");

    /// <summary>The CA that issued the server's certificate (PEM path).</summary>
    public string CaPath => _certificates?.CaCertificatePath ?? throw new InvalidOperationException("No certificates.");

    /// <summary>A CA that did not issue the server's certificate (PEM path).</summary>
    public string OtherCaPath => _otherCa?.CaCertificatePath ?? throw new InvalidOperationException("No certificates.");

    /// <summary>An admin connection over TLS trusting <see cref="CaPath"/>; the caller disposes it.</summary>
    public Task<IConnectionMultiplexer> ConnectAdminAsync() => Server.ConnectAdminAsync(c =>
    {
        c.SslHost = Server.Host;
        c.TrustIssuer(CaPath);
    });

    public async Task InitializeAsync()
    {
        _certificates = TestCertificates.Create();
        _otherCa = TestCertificates.Create("Some other CA");
        _server = await RedisServer.StartAsync(new RedisServerOptions { Tls = true, ExtraArgs = _certificates.ServerArguments });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _certificates?.Dispose();
        _otherCa?.Dispose();
    }
}
