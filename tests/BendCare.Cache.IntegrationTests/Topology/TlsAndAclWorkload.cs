using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.IntegrationTests.Topology;

/// <summary>
/// Calls every public member of <see cref="IRbacCache"/> against a connected host and asserts each did what it
/// promises with Redis working (a hit after a write-back, a set value served, an invalidation forcing a load). A
/// command the server refused (TLS, ACL) shows up as a loader call where a hit was due, or as a Warning/Error log.
/// Shared by the TLS and ACL tests: "works over TLS / with that ACL user" means exactly this.
/// </summary>
internal static class TlsAndAclWorkload
{
    /// <summary>Runs every member; asserts the results and that nothing at Warning or above was logged.</summary>
    public static async Task RunAsync(CacheHost host)
    {
        foreach (var type in CacheType.All)
        {
            await GetMissHitSetInvalidateAsync(host, type);
        }

        await RemainingMembersAsync(host);
        AssertNothingWentWrong(host);
    }

    /// <summary>The members the CacheType table does not cover: bulk and role invalidation, blacklisting with an expiry, raw-token JWT overloads.</summary>
    public static async Task RemainingMembersAsync(CacheHost host)
    {
        await InvalidateManyUserContextsAsync(host);
        await InvalidateRoleAlsoInvalidatesItsUsersAsync(host);
        await BlacklistWithExpiryDropsThePayloadAsync(host);
        await JwtPayloadBoundToTheRawTokenAsync(host);
    }

    /// <summary>
    /// Reads every cache type <paramref name="rounds"/> times with a loader whose value is unique to each call, and
    /// calls every invalidation/set member on the way: each answer must be exactly the loader's (a cached answer would
    /// be someone else's) and nothing may throw. Used while Redis cannot be used.
    /// </summary>
    public static async Task FallsBackToTheLoaderAsync(CacheHost host, int rounds = 20)
    {
        string run = Guid.NewGuid().ToString("N")[..8];
        for (int round = 0; round < rounds; round++)
        {
            foreach (var type in CacheType.All)
            {
                string id = $"{type.Name}-{run}-{round}";
                string version = $"db-{round}-{Guid.NewGuid():N}";
                var loader = new CountingLoader<object?>(type.Make(id, version));
                Same.Value(type.Make(id, version), await type.GetAsync(host.Cache, id, loader.Load));
                Assert.Equal(1, loader.Calls);
                await type.SetAsync(host.Cache, id);
                await type.InvalidateAsync(host.Cache, id);
            }

            await host.Cache.InvalidateUserContextsAsync([$"many-{run}-{round}-a", $"many-{run}-{round}-b"]);
            await host.Cache.InvalidateRolePermissionsAsync($"role-{run}-{round}");
            await host.Cache.BlacklistTokenAsync($"jti-{run}-{round}", DateTimeOffset.UtcNow.AddMinutes(10));
            string tokenId = $"raw-jti-{run}-{round}";
            var payload = new CountingLoader<JwtPayload?>(Models.JwtPayload(tokenId, $"db-{round}"));
            Same.Value(Models.JwtPayload(tokenId, $"db-{round}"), await host.Cache.GetJwtPayloadAsync(tokenId, $"raw-{tokenId}", payload.Load));
            Assert.Equal(1, payload.Calls);
            await host.Cache.SetJwtPayloadAsync(Models.JwtPayload(tokenId), $"raw-{tokenId}");
        }
    }

    /// <summary>Waits (bounded; reads drive the breaker) until the connection-state log line with one of <paramref name="eventIds"/> appears.</summary>
    public static async Task<CapturedLogs.LogEntry> WaitForLogAsync(CacheHost host, params int[] eventIds)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var entry = host.Logs.Entries.FirstOrDefault(e => eventIds.Contains(e.EventId.Id));
            if (entry is not null)
            {
                return entry;
            }

            Assert.True(DateTime.UtcNow < deadline, $"none of the events {string.Join(", ", eventIds)} was logged within 20 s; logged: {Describe(host)}");
            await host.Cache.GetUserBasicAsync("probe", static _ => ValueTask.FromResult<UserBasicInfo?>(null));
            await Task.Delay(25);
        }
    }

    /// <summary>The connection-state lines (2001-2007) logged so far.</summary>
    public static IReadOnlyList<CapturedLogs.LogEntry> ConnectionStateLogs(CacheHost host) =>
        [.. host.Logs.Entries.Where(e => e.EventId.Id is >= Log.CacheDisabledId and <= Log.ConnectedId)];

    /// <summary>Everything logged at Information or above, for assertion messages.</summary>
    public static string Describe(CacheHost host) =>
        string.Join(" | ", host.Logs.Entries.Where(e => e.Level >= LogLevel.Information).Select(e => $"{e.EventId.Id} {e.Level}: {e.Message}"));

    /// <summary>The connection is in use and the library logged nothing at Warning or above.</summary>
    public static void AssertNothingWentWrong(CacheHost host)
    {
        var problems = host.Logs.Entries.Where(e => e.Level >= LogLevel.Warning).Select(e => $"{e.EventId.Id} {e.Level}: {e.Message}").ToList();
        Assert.True(problems.Count == 0, "unexpected log entries: " + string.Join(" | ", problems));
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == Log.ConnectedId);
        Assert.True(host.Connection.IsUsable, $"connection not usable: breaker {host.Connection.BreakerState}, last error {host.Connection.LastError}");
        Assert.Equal(0, host.Engine.RememberedInvalidations);
    }

    /// <summary>The CacheType table: a miss loads and writes back, the next read is a hit, a set is served, an invalidation loads again.</summary>
    public static async Task GetMissHitSetInvalidateAsync(CacheHost host, CacheType type)
    {
        string id = $"{type.Name}-{Guid.NewGuid():N}";
        var loader = new CountingLoader<object?>(call => type.Make(id, $"db{call}"));

        Same.Value(type.Make(id, "db1"), await type.GetAsync(host.Cache, id, loader.Load));
        await host.WaitForWriteBacksAsync();
        Same.Value(type.Make(id, "db1"), await type.GetAsync(host.Cache, id, loader.Load));
        Assert.True(loader.Calls == 1, $"{type.Name}: the read after the write-back was not a hit");

        await type.SetAsync(host.Cache, id, "set");
        var afterSet = await type.GetAsync(host.Cache, id, loader.Load);
        Assert.True(loader.Calls == 1, $"{type.Name}: the read after the set was not a hit");
        if (type.Nullable)
        {
            Same.Value(type.Make(id, "set"), afterSet);
        }
        else
        {
            // The blacklist's "set" is BlacklistTokenAsync: from then on the token is revoked.
            Assert.Equal(true, afterSet);
            return;
        }

        await type.InvalidateAsync(host.Cache, id);
        Same.Value(type.Make(id, "db2"), await type.GetAsync(host.Cache, id, loader.Load));
        Assert.True(loader.Calls == 2, $"{type.Name}: the read after the invalidation did not load");
    }

    private static async Task InvalidateManyUserContextsAsync(CacheHost host)
    {
        string[] ids = [$"many-a-{Guid.NewGuid():N}", $"many-b-{Guid.NewGuid():N}"];
        var loader = new CountingLoader<UserContext?>(call => Models.UserContext(ids[(call - 1) % 2], $"db{call}"));
        foreach (var id in ids)
        {
            await host.Cache.GetUserContextAsync(id, loader.Load);
        }

        await host.WaitForWriteBacksAsync();
        foreach (var id in ids)
        {
            await host.Cache.GetUserContextAsync(id, loader.Load);
        }

        Assert.True(loader.Calls == 2, "user contexts were not cached");

        await host.Cache.InvalidateUserContextsAsync(ids);
        foreach (var id in ids)
        {
            await host.Cache.GetUserContextAsync(id, loader.Load);
        }

        Assert.True(loader.Calls == 4, "InvalidateUserContextsAsync did not invalidate both users");
    }

    private static async Task InvalidateRoleAlsoInvalidatesItsUsersAsync(CacheHost host)
    {
        string role = $"role-{Guid.NewGuid():N}";
        string userId = $"holder-{Guid.NewGuid():N}";
        var contexts = new CountingLoader<UserContext?>(call => Models.UserContext(userId, $"db{call}", role));
        var permissions = new CountingLoader<RolePermissions?>(call => Models.RolePermissions(role, $"db{call}"));

        await host.Cache.GetUserContextAsync(userId, contexts.Load);
        await host.Cache.GetRolePermissionsAsync(role, permissions.Load);
        await host.WaitForWriteBacksAsync();
        await host.Cache.GetUserContextAsync(userId, contexts.Load);
        await host.Cache.GetRolePermissionsAsync(role, permissions.Load);
        Assert.True(contexts.Calls == 1 && permissions.Calls == 1, "the role's data was not cached");

        await host.Cache.InvalidateRolePermissionsAsync(role);

        Same.Value(Models.UserContext(userId, "db2", role), await host.Cache.GetUserContextAsync(userId, contexts.Load));
        Same.Value(Models.RolePermissions(role, "db2"), await host.Cache.GetRolePermissionsAsync(role, permissions.Load));
        Assert.True(contexts.Calls == 2 && permissions.Calls == 2, "InvalidateRolePermissionsAsync did not reach the role and its user");
    }

    private static async Task BlacklistWithExpiryDropsThePayloadAsync(CacheHost host)
    {
        string tokenId = $"jti-{Guid.NewGuid():N}";
        var payloads = new CountingLoader<JwtPayload?>(call => Models.JwtPayload(tokenId, $"db{call}"));
        var revoked = new CountingLoader<bool>(false);
        await host.Cache.SetJwtPayloadAsync(Models.JwtPayload(tokenId, "set"));
        Same.Value(Models.JwtPayload(tokenId, "set"), await host.Cache.GetJwtPayloadAsync(tokenId, payloads.Load));
        Assert.False(await host.Cache.IsTokenBlacklistedAsync(tokenId, revoked.Load));

        await host.Cache.BlacklistTokenAsync(tokenId, DateTimeOffset.UtcNow.AddMinutes(10));

        Assert.True(await host.Cache.IsTokenBlacklistedAsync(tokenId, revoked.Load));
        Same.Value(Models.JwtPayload(tokenId, "db1"), await host.Cache.GetJwtPayloadAsync(tokenId, payloads.Load));
        Assert.True(revoked.Calls == 1 && payloads.Calls == 1, "the blacklisting was not served from the cache, or the payload was not dropped");
    }

    private static async Task JwtPayloadBoundToTheRawTokenAsync(CacheHost host)
    {
        string setId = $"jti-{Guid.NewGuid():N}";
        string loadedId = $"jti-{Guid.NewGuid():N}";
        string setToken = $"header.{setId}.signature";
        string loadedToken = $"header.{loadedId}.signature";
        var loader = new CountingLoader<JwtPayload?>(call => Models.JwtPayload(loadedId, $"db{call}"));

        await host.Cache.SetJwtPayloadAsync(Models.JwtPayload(setId, "set"), setToken);
        Same.Value(Models.JwtPayload(setId, "set"), await host.Cache.GetJwtPayloadAsync(setId, setToken, loader.Load));

        Same.Value(Models.JwtPayload(loadedId, "db1"), await host.Cache.GetJwtPayloadAsync(loadedId, loadedToken, loader.Load));
        await host.WaitForWriteBacksAsync();
        Same.Value(Models.JwtPayload(loadedId, "db1"), await host.Cache.GetJwtPayloadAsync(loadedId, loadedToken, loader.Load));
        Assert.True(loader.Calls == 1, "the raw-token payload was not cached");
    }
}
