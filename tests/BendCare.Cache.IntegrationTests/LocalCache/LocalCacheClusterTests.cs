using BendCare.Cache.IntegrationTests.Cluster;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using BendCare.Cache.Testing;
using Xunit;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.LocalCache;

/// <summary>
/// L1 on a real Redis Cluster: the invalidation channel is a sharded channel in one slot, so every message goes through
/// one shard in one order; an invalidation on one instance still empties every instance's L1 before it returns.
/// </summary>
[Collection(ClusterFixture.CollectionName)]
public sealed class LocalCacheClusterTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task An_invalidation_reaches_every_instance_l1_over_a_sharded_channel()
    {
        await fixture.WaitUntilHealthyAsync();
        var cluster = fixture.Cluster;
        string prefix = ClusterFixture.NewKeyPrefix();
        static void Options(BendCareCacheOptions o)
        {
            o.LocalCache.Types = LocalCacheTypes.RolePermissions | LocalCacheTypes.UserContext;
            o.OperationTimeout = TimeSpan.FromSeconds(1);
        }

        await using var a = await CacheHost.StartAsync(RedisCluster.Host, cluster.Seed.Port, prefix, Options);
        await using var b = await CacheHost.StartAsync(RedisCluster.Host, cluster.Seed.Port, prefix, Options);
        // One admin connection discovers every node; GET calls are summed over all of them.
        await using var admin = await cluster.Seed.ConnectAdminAsync();
        async Task<long> GetCalls()
        {
            long sum = 0;
            foreach (var server in admin.GetServers().Where(s => s.IsConnected))
            {
                sum += (await CommandStats.CallsAsync(server)).GetValueOrDefault("get");
            }

            return sum;
        }

        {
            // Roles spread over the three primaries' slots.
            string[] roles = ["r1", "r2", "r3", "r4", "r5", "r6"];
            foreach (string role in roles)
            {
                await a.Cache.SetRolePermissionsAsync(Models.RolePermissions(role, "v1"));
                await LocalCacheTests.UntilServedLocallyAsync(GetCalls, () => a.Cache.GetRolePermissionsAsync(role, LocalCacheTests.Unexpected<RolePermissions>));
                await LocalCacheTests.UntilServedLocallyAsync(GetCalls, () => b.Cache.GetRolePermissionsAsync(role, LocalCacheTests.Unexpected<RolePermissions>));
            }

            foreach (string role in roles)
            {
                await a.Cache.InvalidateRolePermissionsAsync(role);
                var loaded = await b.Cache.GetRolePermissionsAsync(role, _ => ValueTask.FromResult<RolePermissions?>(Models.RolePermissions(role, "v2")));
                Assert.Equal("perm:v2", loaded!.Permissions[0]);
            }

            output.WriteLine($"channel on a cluster: {a.Engine.Bus!.InstanceId} and {b.Engine.Bus!.InstanceId} verified={b.Engine.Bus.Verification.IsVerified}");
        }
    }
}
