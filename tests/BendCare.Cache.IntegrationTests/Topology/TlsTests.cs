using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Topology;

/// <summary>
/// Production runs with TLS on (ElastiCache, port 6379). Against a real TLS-only <c>redis-server</c>: with the CA
/// trusted every member works; with TLS on one side only, or a CA the client does not trust, every call answers from
/// the loader, nothing throws, and the reason is logged once.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class TlsTests(TlsServerFixture tls, SharedRedisFixture plain, ITestOutputHelper output) : IClassFixture<TlsServerFixture>
{
    /// <summary>Not a timeout test: a loaded machine must not turn a hit into a miss.</summary>
    private static readonly TimeSpan NotATimeoutTest = TimeSpan.FromSeconds(5);

    [Theory]
    [MemberData(nameof(CacheType.Names), MemberType = typeof(CacheType))]
    public async Task Get_miss_hit_set_and_invalidate_work_over_tls_when_the_ca_is_trusted(string typeName)
    {
        await using var host = await StartTrustingAsync(tls.CaPath);

        await TlsAndAclWorkload.GetMissHitSetInvalidateAsync(host, CacheType.Named(typeName));

        TlsAndAclWorkload.AssertNothingWentWrong(host);
    }

    [Fact]
    public async Task Every_other_public_member_works_over_tls_when_the_ca_is_trusted()
    {
        await using var host = await StartTrustingAsync(tls.CaPath);

        await TlsAndAclWorkload.RemainingMembersAsync(host);

        TlsAndAclWorkload.AssertNothingWentWrong(host);
    }

    [Fact]
    public async Task Every_public_member_works_over_tls_for_an_acl_user_with_only_the_documented_permissions()
    {
        await using var admin = await tls.ConnectAdminAsync();
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        string user = $"app-{Guid.NewGuid():N}";
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await AclRules.CreateUserAsync(server, user, "tls-user-secret", AclRules.ForLibrary(prefix, server.Version));

        await using (var host = await CacheHost.StartAsync(tls.Server.Host, tls.Server.Port, prefix, o =>
        {
            o.UseTls = true;
            o.Username = user;
            o.Password = "tls-user-secret";
            o.ConfigureConnection = c => c.TrustIssuer(tls.CaPath);
            o.OperationTimeout = NotATimeoutTest;
        }))
        {
            await TlsAndAclWorkload.RunAsync(host);
            await host.WaitForWriteBacksAsync();
        }

        Assert.Empty(await AclRules.DenialsForAsync(server, user));
    }

    [Fact]
    public async Task Values_written_over_tls_are_on_the_tls_server_under_the_prefixed_key()
    {
        await using var host = await StartTrustingAsync(tls.CaPath);
        string id = Guid.NewGuid().ToString("N");

        await host.Cache.SetUserBasicAsync(Models.UserBasic(id));

        await using var admin = await tls.ConnectAdminAsync();
        Assert.True(await admin.GetDatabase().KeyExistsAsync(host.KeyPrefix + "user_basic:" + id));
        var connected = Assert.Single(host.Logs.Entries, e => e.EventId.Id == Log.ConnectedId);
        Assert.Contains("tls=on", connected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_client_against_the_tls_server_falls_back_to_the_loader_and_logs_the_reason_once()
    {
        await using var host = await CacheHost.StartAsync(
            tls.Server.Host,
            tls.Server.Port,
            SharedRedisFixture.NewKeyPrefix(),
            o => o.ConnectTimeout = TimeSpan.FromSeconds(1),
            waitForConnection: false);

        await TlsAndAclWorkload.FallsBackToTheLoaderAsync(host);
        await TlsAndAclWorkload.WaitForLogAsync(host, Log.CacheUnavailableId, Log.ConfigurationProblemId);
        await TlsAndAclWorkload.FallsBackToTheLoaderAsync(host);

        output.WriteLine(TlsAndAclWorkload.Describe(host));
        Assert.False(host.Connection.IsUsable);
        var logged = Assert.Single(host.Logs.Entries, e => e.EventId.Id is Log.CacheUnavailableId or Log.ConfigurationProblemId);
        // Observed: the server accepts the socket and closes it when the first bytes are not a TLS handshake; the
        // client's connect log then names no cause, and the library reports a Warning with reason "Unknown" (not the
        // configuration error it is).
        Assert.Equal(Log.CacheUnavailableId, logged.EventId.Id);
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.Contains("tls=off", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_client_against_a_plain_server_falls_back_to_the_loader_and_logs_a_tls_error_once()
    {
        await using var host = await CacheHost.StartAsync(
            plain.Server.Host,
            plain.Server.Port,
            SharedRedisFixture.NewKeyPrefix(),
            o =>
            {
                o.UseTls = true;
                o.ConnectTimeout = TimeSpan.FromSeconds(1);
                o.ConfigureConnection = c => c.TrustIssuer(tls.CaPath);
            },
            waitForConnection: false);

        await TlsAndAclWorkload.FallsBackToTheLoaderAsync(host);
        await TlsAndAclWorkload.WaitForLogAsync(host, Log.CacheUnavailableId, Log.ConfigurationProblemId);
        await TlsAndAclWorkload.FallsBackToTheLoaderAsync(host);

        AssertOneTlsError(host);
    }

    [Theory]
    [InlineData("another CA")]
    [InlineData("no extra CA")]
    public async Task Tls_client_that_does_not_trust_the_server_certificate_falls_back_to_the_loader_and_logs_a_tls_error_once(string trust)
    {
        await using var host = await CacheHost.StartAsync(
            tls.Server.Host,
            tls.Server.Port,
            SharedRedisFixture.NewKeyPrefix(),
            o =>
            {
                o.UseTls = true;
                o.ConnectTimeout = TimeSpan.FromSeconds(1);
                if (trust == "another CA")
                {
                    o.ConfigureConnection = c => c.TrustIssuer(tls.OtherCaPath);
                }
            },
            waitForConnection: false);

        await TlsAndAclWorkload.FallsBackToTheLoaderAsync(host);
        await TlsAndAclWorkload.WaitForLogAsync(host, Log.CacheUnavailableId, Log.ConfigurationProblemId);
        await TlsAndAclWorkload.FallsBackToTheLoaderAsync(host);

        AssertOneTlsError(host);
    }

    private void AssertOneTlsError(CacheHost host)
    {
        output.WriteLine(TlsAndAclWorkload.Describe(host));
        Assert.False(host.Connection.IsUsable);
        var logged = Assert.Single(host.Logs.Entries, e => e.EventId.Id is Log.CacheUnavailableId or Log.ConfigurationProblemId);
        Assert.Equal(Log.ConfigurationProblemId, logged.EventId.Id);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.Contains("tls=on", logged.Message, StringComparison.Ordinal);
        // StackExchange.Redis reports a failed TLS handshake as ConnectionFailureType.AuthenticationFailure; with TLS on
        // and no password rejection in sight, the library names it for what it is.
        Assert.Contains("cannot be used (Tls)", logged.Message, StringComparison.Ordinal);
    }

    private Task<CacheHost> StartTrustingAsync(string caPath) =>
        CacheHost.StartAsync(tls.Server.Host, tls.Server.Port, SharedRedisFixture.NewKeyPrefix(), o =>
        {
            o.UseTls = true;
            o.ConfigureConnection = c => c.TrustIssuer(caPath);
            o.OperationTimeout = NotATimeoutTest;
        });
}
