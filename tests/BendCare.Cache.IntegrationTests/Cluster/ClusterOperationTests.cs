using System.Globalization;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Cluster;

/// <summary>
/// Every public <see cref="IRbacCache"/> operation against a real Redis Cluster, the client pointed at one node:
/// correct behaviour and not a single Redis error (no CROSSSLOT, no unhandled MOVED, no script trouble), checked
/// through the library's own logs and counters. Keys of one call that live in different slots (a user's context and
/// its role's member set, a token's blacklist entry and its payload) are placed on different primaries on purpose.
/// </summary>
[Collection(ClusterFixture.CollectionName)]
public sealed class ClusterOperationTests(ClusterFixture fixture, ITestOutputHelper output)
{
    /// <summary>
    /// Generous: these tests are about errors, not latency, and run beside other test collections on a 2-core CI
    /// machine. A command that hangs still shows up as a timeout.
    /// </summary>
    private static readonly Action<BendCareCacheOptions> Patient = o => o.OperationTimeout = TimeSpan.FromSeconds(1);

    private RedisCluster Cluster => fixture.Cluster;

    public static TheoryData<string, bool> TypesWithAndWithoutPrefix
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (var type in CacheType.All)
            {
                data.Add(type.Name, true);
                data.Add(type.Name, false);
            }

            return data;
        }
    }

    [Fact]
    public async Task Harness_hash_slots_and_owners_match_the_servers()
    {
        await fixture.WaitUntilHealthyAsync();
        var topology = await Cluster.GetTopologyAsync();
        output.WriteLine(Cluster.Description);

        Assert.Equal(3, topology.Primaries.Count);
        foreach (string key in new[] { "user_context:u1", "bcos:dev:role_perms:admin", "a{user1}b", "{}x", "token_bl:" + Guid.NewGuid().ToString("N") })
        {
            var slot = await Cluster.ExecuteAsync(Cluster.Seed.Port, "CLUSTER", "KEYSLOT", key);
            Assert.Equal((long)RedisCluster.HashSlot(key), slot);

            // The owner accepts the key; any other primary redirects.
            var owner = topology.PrimaryOf(key);
            Assert.Equal(0L, await Cluster.ExecuteAsync(owner.Port, "EXISTS", key));
            var other = topology.Primaries.First(p => p.Id != owner.Id);
            var moved = await Assert.ThrowsAsync<InvalidOperationException>(() => Cluster.ExecuteAsync(other.Port, "EXISTS", key));
            Assert.Contains($"MOVED {RedisCluster.HashSlot(key)} {owner.EndPoint}", moved.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(TypesWithAndWithoutPrefix))]
    public async Task Every_cache_type_misses_then_hits_then_follows_set_and_invalidate(string typeName, bool withPrefix)
    {
        await fixture.WaitUntilHealthyAsync();
        var type = CacheType.Named(typeName);
        string prefix = withPrefix ? ClusterFixture.NewKeyPrefix() : string.Empty;
        await using var client = await ClusterClient.StartAsync(Cluster, prefix, Patient);
        string id = "id-" + Guid.NewGuid().ToString("N");
        string key = type.Key(prefix, id);
        var owner = await Cluster.PrimaryForKeyAsync(key);
        output.WriteLine($"{key} -> slot {RedisCluster.HashSlot(key)} on {owner.EndPoint}; client seeded with {Cluster.Seed.EndPointText}");

        var v1 = new CountingLoader<object?>(type.Make(id, "v1"));
        Same.Value(type.Make(id, "v1"), await type.GetAsync(client.Cache, id, v1.Load));
        await client.Host.WaitForWriteBacksAsync();
        Same.Value(type.Make(id, "v1"), await type.GetAsync(client.Cache, id, v1.Load));
        Assert.Equal(1, v1.Calls);
        Assert.Equal(1L, await Cluster.ExecuteAsync(owner.Port, "EXISTS", key));

        await type.SetAsync(client.Cache, id, "v2");
        var unused = new CountingLoader<object?>(type.Make(id, "v9"));
        Same.Value(type.Nullable ? type.Make(id, "v2") : true, await type.GetAsync(client.Cache, id, unused.Load));
        Assert.Equal(0, unused.Calls);

        if (type.Nullable)
        {
            await type.InvalidateAsync(client.Cache, id);
            var v3 = new CountingLoader<object?>(type.Make(id, "v3"));
            Same.Value(type.Make(id, "v3"), await type.GetAsync(client.Cache, id, v3.Load));
            Assert.Equal(1, v3.Calls);
        }

        // The library's own counters saw it the same way (the host's readiness probe may add user_basic misses).
        Assert.Equal(2, client.Counters.Of(CacheCounters.Hits, type.Name));
        Assert.True(client.Counters.Of(CacheCounters.Misses, type.Name) >= (type.Nullable ? 2 : 1), client.Counters.Describe());
        client.AssertNoRedisTrouble();
    }

    [Fact]
    public async Task Bulk_invalidation_of_200_users_spread_over_every_primary_makes_each_one_a_miss()
    {
        await fixture.WaitUntilHealthyAsync();
        string prefix = ClusterFixture.NewKeyPrefix();
        await using var client = await ClusterClient.StartAsync(Cluster, prefix, Patient);
        var topology = await Cluster.GetTopologyAsync();
        var users = Enumerable.Range(0, 200).Select(i => $"user-{i}").ToArray();
        var load = users.ToDictionary(u => u, u => new CountingLoader<UserContext?>(call => Models.UserContext(u, $"v{call}")));
        var commandsBefore = await CommandsPerPrimaryAsync(topology);

        foreach (string user in users)
        {
            Same.Value(Models.UserContext(user, "v1"), await client.Cache.GetUserContextAsync(user, load[user].Load));
        }

        await client.Host.WaitForWriteBacksAsync();
        var commandsAfter = await CommandsPerPrimaryAsync(topology);

        // Where the keys really are: SCAN every primary.
        var stored = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var primary in topology.Primaries)
        {
            stored[primary.EndPoint] = (await ScanAsync(primary, prefix + "user_context:*")).Count;
        }

        output.WriteLine("user_context keys per primary: " + string.Join(", ", stored.Select(p => $"{p.Key}={p.Value}")));
        output.WriteLine(
            "commands served per primary while 200 user contexts missed and were written back: "
            + string.Join(", ", topology.Primaries.Select(p => $"{p.EndPoint}={commandsAfter[p.EndPoint] - commandsBefore[p.EndPoint]}"))
            + $" (rbac_epoch on {topology.PrimaryOf(prefix + "rbac_epoch").EndPoint}, role_members:r-reader on {topology.PrimaryOf(prefix + "role_members:r-reader").EndPoint})");
        Assert.Equal(users.Length, stored.Values.Sum());
        Assert.True(stored.Values.Count(n => n > 0) >= 3, "200 users' keys are not on every primary: " + string.Join(", ", stored));
        Assert.All(stored.Values, n => Assert.InRange(n, 20, 180));

        foreach (string user in users)
        {
            Same.Value(Models.UserContext(user, "v1"), await client.Cache.GetUserContextAsync(user, load[user].Load));
        }

        Assert.All(users, u => Assert.Equal(1, load[u].Calls));

        await client.Cache.InvalidateUserContextsAsync(users);

        foreach (string user in users)
        {
            Same.Value(Models.UserContext(user, "v2"), await client.Cache.GetUserContextAsync(user, load[user].Load));
        }

        Assert.All(users, u => Assert.Equal(2, load[u].Calls));
        client.AssertNoRedisTrouble();
    }

    [Fact]
    public async Task Role_invalidation_reaches_user_contexts_on_every_primary_and_no_other()
    {
        await fixture.WaitUntilHealthyAsync();
        string prefix = ClusterFixture.NewKeyPrefix();
        await using var client = await ClusterClient.StartAsync(Cluster, prefix, Patient);
        var topology = await Cluster.GetTopologyAsync();
        string role = "editor";
        var holders = Enumerable.Range(0, 30).Select(i => $"editor-{i}").ToArray();
        var others = Enumerable.Range(0, 10).Select(i => $"reader-{i}").ToArray();
        Assert.Equal(3, holders.Select(u => topology.PrimaryOf(prefix + "user_context:" + u).Id).Distinct().Count());
        output.WriteLine($"role_members:{role} on {topology.PrimaryOf(prefix + "role_members:" + role).EndPoint}, rbac_epoch on {topology.PrimaryOf(prefix + "rbac_epoch").EndPoint}");

        foreach (string user in holders)
        {
            await client.Cache.GetUserContextAsync(user, new CountingLoader<UserContext?>(Models.UserContext(user, "v1", "reader", role)).Load);
        }

        foreach (string user in others)
        {
            await client.Cache.GetUserContextAsync(user, new CountingLoader<UserContext?>(Models.UserContext(user, "v1", "reader")).Load);
        }

        await client.Cache.GetRolePermissionsAsync(role, new CountingLoader<RolePermissions?>(Models.RolePermissions(role)).Load);
        await client.Host.WaitForWriteBacksAsync();

        await client.Cache.InvalidateRolePermissionsAsync(role);

        foreach (string user in holders)
        {
            var reload = new CountingLoader<UserContext?>(Models.UserContext(user, "v2", "reader", role));
            Same.Value(Models.UserContext(user, "v2", "reader", role), await client.Cache.GetUserContextAsync(user, reload.Load));
            Assert.Equal(1, reload.Calls);
        }

        foreach (string user in others)
        {
            var unused = new CountingLoader<UserContext?>(Models.UserContext(user, "v2", "reader"));
            Same.Value(Models.UserContext(user, "v1", "reader"), await client.Cache.GetUserContextAsync(user, unused.Load));
            Assert.Equal(0, unused.Calls);
        }

        var rolePerms = new CountingLoader<RolePermissions?>(Models.RolePermissions(role, "v2"));
        Same.Value(Models.RolePermissions(role, "v2"), await client.Cache.GetRolePermissionsAsync(role, rolePerms.Load));
        Assert.Equal(1, rolePerms.Calls);
        client.AssertNoRedisTrouble();
    }

    [Fact]
    public async Task Role_invalidation_during_a_user_context_load_on_another_primary_wins()
    {
        await fixture.WaitUntilHealthyAsync();
        string prefix = ClusterFixture.NewKeyPrefix();
        await using var client = await ClusterClient.StartAsync(Cluster, prefix, Patient);
        var topology = await Cluster.GetTopologyAsync();

        // The epoch, the role's member set and the user's context: three keys on three different primaries.
        string epochOwner = topology.PrimaryOf(prefix + "rbac_epoch").Id;
        string role = Candidates("role-").First(r => topology.PrimaryOf(prefix + "role_members:" + r).Id != epochOwner);
        string setOwner = topology.PrimaryOf(prefix + "role_members:" + role).Id;
        string userId = Candidates("u-").First(u => topology.PrimaryOf(prefix + "user_context:" + u).Id is var o && o != epochOwner && o != setOwner);
        var slowV1 = new GatedLoader<UserContext?>(Models.UserContext(userId, "v1", role));

        var read = client.Cache.GetUserContextAsync(userId, slowV1.Load).AsTask();
        await slowV1.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await client.Cache.InvalidateRolePermissionsAsync(role);
        slowV1.Release();
        Same.Value(Models.UserContext(userId, "v1", role), await read);
        await client.Host.WaitForWriteBacksAsync();

        var v2 = new CountingLoader<UserContext?>(Models.UserContext(userId, "v2", role));
        Same.Value(Models.UserContext(userId, "v2", role), await client.Cache.GetUserContextAsync(userId, v2.Load));
        Assert.Equal(1, v2.Calls);

        // And the plain race without a load in flight: cached, then the role edit.
        await client.Host.WaitForWriteBacksAsync();
        Same.Value(Models.UserContext(userId, "v2", role), await client.Cache.GetUserContextAsync(userId, v2.Load));
        Assert.Equal(1, v2.Calls);
        await client.Cache.InvalidateRolePermissionsAsync(role);
        var v3 = new CountingLoader<UserContext?>(Models.UserContext(userId, "v3", role));
        Same.Value(Models.UserContext(userId, "v3", role), await client.Cache.GetUserContextAsync(userId, v3.Load));
        Assert.Equal(1, v3.Calls);
        Assert.True(client.Counters.Total(CacheCounters.WriteBacksDropped) >= 1, "the raced write-back was not dropped: " + client.Counters.Describe());
        client.AssertNoRedisTrouble();
    }

    [Fact]
    public async Task Blacklisting_writes_both_keys_on_different_primaries_and_wins_over_a_check_in_flight()
    {
        await fixture.WaitUntilHealthyAsync();
        string prefix = ClusterFixture.NewKeyPrefix();
        await using var client = await ClusterClient.StartAsync(Cluster, prefix, Patient);
        var topology = await Cluster.GetTopologyAsync();
        var split = Candidates("jti-")
            .Where(t => topology.PrimaryOf(prefix + "token_bl:" + t).Id != topology.PrimaryOf(prefix + "jwt_payload:" + t).Id)
            .Take(2)
            .ToArray();
        string cached = split[0];
        string inFlight = split[1];
        var blacklistOwner = topology.PrimaryOf(prefix + "token_bl:" + cached);
        output.WriteLine($"token_bl:{cached} on {blacklistOwner.EndPoint}, jwt_payload:{cached} on {topology.PrimaryOf(prefix + "jwt_payload:" + cached).EndPoint}");

        // A cached "not blacklisted" and a cached payload, then the revocation.
        await client.Cache.SetJwtPayloadAsync(Models.JwtPayload(cached));
        Assert.False(await client.Cache.IsTokenBlacklistedAsync(cached, new CountingLoader<bool>(false).Load));
        await client.Host.WaitForWriteBacksAsync();
        var staleDatabase = new CountingLoader<bool>(false);
        Assert.False(await client.Cache.IsTokenBlacklistedAsync(cached, staleDatabase.Load));
        Assert.Equal(0, staleDatabase.Calls);

        await client.Cache.BlacklistTokenAsync(cached, DateTimeOffset.UtcNow.AddMinutes(30));

        Assert.True(await client.Cache.IsTokenBlacklistedAsync(cached, staleDatabase.Load));
        Assert.Equal(0, staleDatabase.Calls);
        var payload = new CountingLoader<JwtPayload?>((JwtPayload?)null);
        Assert.Null(await client.Cache.GetJwtPayloadAsync(cached, payload.Load));
        Assert.Equal(1, payload.Calls);
        var ttl = (long)(await Cluster.ExecuteAsync(blacklistOwner.Port, "PTTL", prefix + "token_bl:" + cached))!;
        Assert.InRange(ttl, (long)TimeSpan.FromMinutes(34).TotalMilliseconds, (long)TimeSpan.FromMinutes(35).TotalMilliseconds); // expiry + 5 min clock skew

        // A check in flight that loaded "false" loses to the blacklisting.
        var pausedFalse = new GatedLoader<bool>(false);
        var check = client.Cache.IsTokenBlacklistedAsync(inFlight, pausedFalse.Load).AsTask();
        await pausedFalse.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await client.Cache.BlacklistTokenAsync(inFlight, null);
        pausedFalse.Release();
        Assert.False(await check);
        await client.Host.WaitForWriteBacksAsync();
        for (int i = 0; i < 3; i++)
        {
            Assert.True(await client.Cache.IsTokenBlacklistedAsync(inFlight, staleDatabase.Load));
        }

        Assert.Equal(0, staleDatabase.Calls);
        client.AssertNoRedisTrouble();
    }

    [Fact]
    public async Task Jwt_raw_token_overloads_bind_the_payload_to_its_token()
    {
        await fixture.WaitUntilHealthyAsync();
        await using var client = await ClusterClient.StartAsync(Cluster, ClusterFixture.NewKeyPrefix(), Patient);
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");
        const string Genuine = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.genuine-signature";
        const string Forged = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.forged-signature";

        var decode = new CountingLoader<JwtPayload?>(Models.JwtPayload(tokenId, "v1"));
        Same.Value(Models.JwtPayload(tokenId, "v1"), await client.Cache.GetJwtPayloadAsync(tokenId, Genuine, decode.Load));
        await client.Host.WaitForWriteBacksAsync();
        Same.Value(Models.JwtPayload(tokenId, "v1"), await client.Cache.GetJwtPayloadAsync(tokenId, Genuine, decode.Load));
        Assert.Equal(1, decode.Calls);

        var rejectForged = new CountingLoader<JwtPayload?>((JwtPayload?)null);
        Assert.Null(await client.Cache.GetJwtPayloadAsync(tokenId, Forged, rejectForged.Load));
        Assert.Equal(1, rejectForged.Calls);

        await client.Cache.SetJwtPayloadAsync(Models.JwtPayload(tokenId, "v2"), Genuine);
        Same.Value(Models.JwtPayload(tokenId, "v2"), await client.Cache.GetJwtPayloadAsync(tokenId, Genuine, decode.Load));
        Assert.Equal(1, decode.Calls);

        await client.Cache.InvalidateJwtPayloadAsync(tokenId);
        var v3 = new CountingLoader<JwtPayload?>(Models.JwtPayload(tokenId, "v3"));
        Same.Value(Models.JwtPayload(tokenId, "v3"), await client.Cache.GetJwtPayloadAsync(tokenId, Genuine, v3.Load));
        Assert.Equal(1, v3.Calls);

        // The forged token is the one warning, by design.
        Assert.Single(client.Host.Logs.Entries, e => e.EventId.Id == Log.FingerprintMismatchId);
        client.AssertNoRedisTrouble(Log.FingerprintMismatchId);
    }

    private static IEnumerable<string> Candidates(string stem) =>
        Enumerable.Range(0, 10_000).Select(i => stem + i.ToString(CultureInfo.InvariantCulture));

    private async Task<Dictionary<string, long>> CommandsPerPrimaryAsync(ClusterTopology topology)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var primary in topology.Primaries)
        {
            var info = (string)(await Cluster.ExecuteAsync(primary.Port, "INFO", "stats"))!;
            var line = info.Split('\n').First(l => l.StartsWith("total_commands_processed:", StringComparison.Ordinal));
            result[primary.EndPoint] = long.Parse(line["total_commands_processed:".Length..].Trim(), CultureInfo.InvariantCulture);
        }

        return result;
    }

    private async Task<List<string>> ScanAsync(ClusterNode primary, string pattern)
    {
        var keys = new List<string>();
        string cursor = "0";
        do
        {
            var reply = (object?[])(await Cluster.ExecuteAsync(primary.Port, "SCAN", cursor, "MATCH", pattern, "COUNT", "1000"))!;
            cursor = (string)reply[0]!;
            keys.AddRange(((object?[])reply[1]!).Cast<string>());
        }
        while (cursor != "0");

        return keys;
    }
}
