using BendCare.Cache.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace BendCare.Cache.IntegrationTests.Cluster;

/// <summary>
/// One real Redis Cluster (six nodes, three primaries with a replica each) for every class marked
/// <c>[Collection(ClusterFixture.CollectionName)]</c>; those classes run one after another. Tests isolate their data
/// with <see cref="NewKeyPrefix"/> or unique ids. A test that kills or fails over a node restores a healthy cluster
/// (every node running, every primary with a replica in sync) before it ends; every test starts by waiting for one.
/// When the cluster cannot start (no <c>redis-server</c>/<c>redis-cli</c>, Redis older than 7), every test of the
/// collection fails with the reason: in CI and elsewhere, never a skip.
/// </summary>
public sealed class ClusterFixture(IMessageSink messageSink) : IAsyncLifetime
{
    /// <summary>Name of the xunit collection that shares the cluster.</summary>
    public const string CollectionName = "redis-cluster";

    private RedisCluster? _cluster;

    /// <summary>The shared cluster.</summary>
    public RedisCluster Cluster => _cluster ?? throw new InvalidOperationException("The Redis Cluster has not been started.");

    /// <summary>A key prefix no other test uses: <c>c{guid}:</c>.</summary>
    public static string NewKeyPrefix() => $"c{Guid.NewGuid():N}:";

    /// <summary>Waits (bounded) until the cluster is healthy: call first in every test.</summary>
    public Task WaitUntilHealthyAsync() => Cluster.WaitUntilHealthyAsync(TimeSpan.FromSeconds(30));

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        try
        {
            _cluster = await RedisCluster.StartAsync();
        }
        catch (Exception ex)
        {
            var message = $"[ClusterFixture] could not start a Redis Cluster{(RedisServer.IsCi ? " (CI: failing, not skipping)" : string.Empty)}: {ex.Message}";
            messageSink.OnMessage(new DiagnosticMessage(message));
            Console.Error.WriteLine(message);
            throw;
        }

        messageSink.OnMessage(new DiagnosticMessage($"[ClusterFixture] {_cluster.Description}"));
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
            _cluster = null;
        }
    }
}

/// <summary>Binds <see cref="ClusterFixture"/> to the collection <see cref="ClusterFixture.CollectionName"/>.</summary>
[CollectionDefinition(ClusterFixture.CollectionName)]
public sealed class ClusterCollectionDefinition : ICollectionFixture<ClusterFixture>
{
}
