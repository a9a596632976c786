using BendCare.Cache.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.ConnectionCheck;

/// <summary>
/// A server of its own with a password and two ACL users, as on ElastiCache: <see cref="RestrictedUser"/> may not run
/// <c>INFO</c> or <c>ACL</c>, <see cref="ForeignKeysUser"/> may only touch keys under <c>other:</c>.
/// </summary>
public sealed class SecuredServerFixture : IAsyncLifetime
{
    public const string Password = "s3cret-Pa55word-for-tests";
    public const string RestrictedUser = "restricted";
    public const string RestrictedPassword = "restricted-Pa55word";
    public const string ForeignKeysUser = "foreign-keys";
    public const string ForeignKeysPassword = "foreign-keys-Pa55word";

    private RedisServer? _server;

    public RedisServer Server => _server ?? throw new InvalidOperationException("The secured server has not been started.");

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync(new RedisServerOptions { ExtraArgs = ["--requirepass", Password] });
        await using var admin = await _server.ConnectAdminAsync();
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        await server.ExecuteAsync("ACL", "SETUSER", RestrictedUser, "on", ">" + RestrictedPassword, "~*", "+@all", "-info", "-acl");
        await server.ExecuteAsync("ACL", "SETUSER", ForeignKeysUser, "on", ">" + ForeignKeysPassword, "~other:*", "+@all");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
