using BendCare.Cache.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.Topology;

/// <summary>
/// A real <c>redis-server</c> whose <c>default</c> user has a password (only the admin connection uses it), where
/// tests create application users with <c>ACL SETUSER</c> and read the server's <c>ACL LOG</c> for them.
/// </summary>
public sealed class AclServerFixture : IAsyncLifetime
{
    private const string AdminPassword = "admin-only-secret";

    private RedisServer? _server;
    private IConnectionMultiplexer? _admin;

    public RedisServer Server => _server ?? throw new InvalidOperationException("The ACL server has not been started.");

    /// <summary>The server's version (decides whether <c>CLIENT SETINFO</c> exists).</summary>
    public Version Version { get; private set; } = new();

    private IServer Admin => (_admin ?? throw new InvalidOperationException("No admin connection.")).GetServer(_admin.GetEndPoints()[0]);

    /// <summary>Creates (or replaces) a user with a password and the given space-separated ACL rules.</summary>
    public Task CreateUserAsync(string user, string password, string rules) => AclRules.CreateUserAsync(Admin, user, password, rules);

    /// <summary>The server's ACL LOG entries for one user, as <c>reason:object(context) xcount</c>.</summary>
    public Task<IReadOnlyList<string>> DenialsForAsync(string user) => AclRules.DenialsForAsync(Admin, user);

    /// <summary>Runs a server command as the admin (e.g. <c>ACL SETUSER</c>, <c>CLIENT KILL USER</c>).</summary>
    public Task<RedisResult> ExecuteAsync(string command, params object[] args) => Admin.ExecuteAsync(command, args);

    /// <summary>An admin connection's database, for setting up foreign values and checking keys.</summary>
    public IDatabase Database => (_admin ?? throw new InvalidOperationException("No admin connection.")).GetDatabase();

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync(new RedisServerOptions { ExtraArgs = ["--requirepass", AdminPassword] });
        _admin = await _server.ConnectAdminAsync();
        Version = Admin.Version;
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
