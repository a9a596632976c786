using BendCare.Cache.IntegrationTests.Support;
using BendCare.Cache.IntegrationTests.Topology;
using StackExchange.Redis;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Freshness;

/// <summary>
/// Freshness when some keys cannot be written or read (an ACL gap; a dead shard behaves alike): a role edit that reaches
/// all but one holder is replayed for that holder only, never repeated whole; and a caller that could not read the
/// epoch never shares a load with another.
/// </summary>
public sealed class AclGapTests(AclServerFixture acl) : IClassFixture<AclServerFixture>
{
    private const string Password = "app-user-secret";

    [Fact]
    public async Task A_role_edit_that_cannot_tombstone_one_holder_moves_the_epoch_once_and_blocks_only_that_holder()
    {
        string prefix = NewPrefix();
        var (fullUser, gapUser) = await CreateUsersAsync(
            prefix,
            $"%R~{prefix}* ~{prefix}rbac_epoch ~{prefix}role_members:* ~{prefix}role_users:* ~{prefix}role_perms:* ~{prefix}user_context:ok-*");
        await using var full = await StartAsync(fullUser, prefix);
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{acl.Server.Host}:{acl.Server.Port},user={fullUser},password={Password}");
        var db = admin.GetDatabase();
        foreach (var (user, role) in new[] { ("ok-1", "r1"), ("bad-1", "r1"), ("ok-2", "r2") })
        {
            await full.Cache.GetUserContextAsync(user, new CountingLoader<UserContext?>(Models.UserContext(user, "v1", role)).Load);
        }

        await full.WaitForWriteBacksAsync();
        await using var gap = await StartAsync(gapUser, prefix);

        await gap.Cache.InvalidateRolePermissionsAsync("r1");

        string? epochAfterEdit = await db.StringGetAsync(prefix + "rbac_epoch");

        // Right away: another holder's context is still served from Redis by this instance, and ok-1 was invalidated.
        var unused = new CountingLoader<UserContext?>(Models.UserContext("ok-2", "v2", "r2"));
        Same.Value(Models.UserContext("ok-2", "v1", "r2"), await gap.Cache.GetUserContextAsync("ok-2", unused.Load));
        Assert.Equal(0, unused.Calls);
        var ok1 = new CountingLoader<UserContext?>(Models.UserContext("ok-1", "v2", "r1"));
        Same.Value(Models.UserContext("ok-1", "v2", "r1"), await full.Cache.GetUserContextAsync("ok-1", ok1.Load));
        Assert.Equal(1, ok1.Calls);

        // Replays retry the one tombstone that failed, never the whole edit: the epoch moved exactly once.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.NotNull(epochAfterEdit);
        Assert.Equal(epochAfterEdit, (string?)await db.StringGetAsync(prefix + "rbac_epoch"));
        Assert.Equal(1, gap.Engine.RememberedInvalidations);
    }

    [Fact]
    public async Task Callers_that_could_not_read_the_epoch_never_share_a_load()
    {
        string prefix = NewPrefix();
        var (fullUser, noEpochUser) = await CreateUsersAsync(prefix, $"~{prefix}user_context:* ~{prefix}role_members:*");
        await using var editor = await StartAsync(fullUser, prefix);
        await using var reader = await StartAsync(noEpochUser, prefix);
        var slowV1 = new GatedLoader<UserContext?>(Models.UserContext("u1", "v1", "r1"));

        var first = reader.Cache.GetUserContextAsync("u1", slowV1.Load).AsTask();
        await slowV1.Started.WaitAsync(TimeSpan.FromSeconds(10));

        // The database changed and the role edit returned (u1 was not cached: it only moves the epoch).
        await editor.Cache.InvalidateRolePermissionsAsync("r1");
        var v2 = new CountingLoader<UserContext?>(Models.UserContext("u1", "v2", "r1"));
        var second = reader.Cache.GetUserContextAsync("u1", v2.Load).AsTask();
        await Task.WhenAny(second, Task.Delay(TimeSpan.FromSeconds(2)));
        slowV1.Release();

        Same.Value(Models.UserContext("u1", "v2", "r1"), await second);
        Assert.Equal(1, v2.Calls);
        Same.Value(Models.UserContext("u1", "v1", "r1"), await first);
    }

    private static string NewUser() => $"app-{Guid.NewGuid():N}";

    /// <summary>A user with the library's documented rule, and one whose key patterns are <paramref name="restrictedKeys"/> instead.</summary>
    private async Task<(string Full, string Restricted)> CreateUsersAsync(string prefix, string restrictedKeys)
    {
        string full = NewUser();
        string restricted = NewUser();
        await acl.CreateUserAsync(full, Password, AclRules.ForLibrary(prefix, acl.Version));
        await acl.CreateUserAsync(restricted, Password, AclRules.ForLibrary(prefix, acl.Version).Replace($"~{prefix}*", restrictedKeys, StringComparison.Ordinal));
        return (full, restricted);
    }

    private static string NewPrefix() => $"bcos:gap{Guid.NewGuid():N}:";

    private Task<CacheHost> StartAsync(string user, string prefix) =>
        CacheHost.StartAsync(acl.Server.Host, acl.Server.Port, prefix, o =>
        {
            o.Username = user;
            o.Password = Password;
            o.OperationTimeout = TimeSpan.FromSeconds(5);
        });
}
