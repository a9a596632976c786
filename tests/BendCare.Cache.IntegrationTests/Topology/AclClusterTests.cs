using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Cluster;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Topology;

/// <summary>
/// ElastiCache Serverless is always cluster mode. Against a real six-node Redis Cluster (ACL users are per node, so the
/// user is created on every node), the documented rule lets every public member work with zero denials on any node:
/// the client's CLUSTER NODES/SLOTS discovery, its READONLY to replicas and its MOVED-following need nothing more.
/// </summary>
[Collection(ClusterFixture.CollectionName)]
public sealed class AclClusterTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private const string Password = "cluster-app-secret";

    [Theory]
    [InlineData("library defaults")]
    [InlineData("client defaults restored")]
    public async Task Every_public_member_works_on_a_cluster_for_a_user_with_only_the_documented_permissions(string variant)
    {
        await fixture.WaitUntilHealthyAsync();
        bool restored = variant == "client defaults restored";
        string user = $"app-{Guid.NewGuid():N}";
        string prefix = ClusterFixture.NewKeyPrefix();
        var ports = fixture.Cluster.Nodes.Select(n => n.Port).ToList();
        var info = (string)(await RedisCluster.ExecuteAsync(ports[0], CancellationToken.None, "INFO", "server"))!;
        var version = Version.Parse(info.Split('\n').Single(l => l.StartsWith("redis_version:", StringComparison.Ordinal))["redis_version:".Length..].Trim());
        string rules = restored ? AclRules.ForClientDefaults(prefix, version) : AclRules.ForLibrary(prefix, version);
        foreach (int port in ports)
        {
            // ACL users are per node; a raw connection per node avoids depending on the admin client's view of the cluster.
            string[] command = ["ACL", "SETUSER", user, "reset", "on", ">" + Password, .. rules.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
            Assert.Equal("OK", await RedisCluster.ExecuteAsync(port, CancellationToken.None, command));
        }

        await using (var host = await CacheHost.StartAsync(fixture.Cluster.Seed.Host, fixture.Cluster.Seed.Port, prefix, o =>
        {
            o.Username = user;
            o.Password = Password;
            o.OperationTimeout = TimeSpan.FromSeconds(5);
            if (restored)
            {
                o.ConfigureConnection = AclRules.ClientDefaults;
            }
        }))
        {
            Assert.Contains(host.Logs.Entries, e => e.EventId.Id == Log.ConnectedId && e.Message.Contains("Cluster", StringComparison.Ordinal));
            await TlsAndAclWorkload.RunAsync(host);
            await host.WaitForWriteBacksAsync();
        }

        var denials = new List<string>();
        foreach (int port in ports)
        {
            var entries = (object?[])(await RedisCluster.ExecuteAsync(port, CancellationToken.None, "ACL", "LOG", "1000"))!;
            foreach (object?[] entry in entries.Cast<object?[]>())
            {
                var fields = new Dictionary<string, string>(StringComparer.Ordinal);
                for (int i = 0; i + 1 < entry.Length; i += 2)
                {
                    fields[(string)entry[i]!] = Convert.ToString(entry[i + 1], System.Globalization.CultureInfo.InvariantCulture) ?? "";
                }

                if (fields.GetValueOrDefault("username") == user)
                {
                    denials.Add($"{port}: {fields.GetValueOrDefault("reason")}:{fields.GetValueOrDefault("object")}");
                }
            }
        }

        output.WriteLine(string.Join(" | ", denials));
        Assert.Empty(denials);
    }
}
