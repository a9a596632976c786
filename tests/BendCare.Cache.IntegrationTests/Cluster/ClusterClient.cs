using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.IntegrationTests.Cluster;

/// <summary>
/// One application instance pointed at ONE node of the cluster (StackExchange.Redis discovers the rest), with its
/// logs and its counters, and the assertion that Redis never failed it.
/// </summary>
internal sealed class ClusterClient : IAsyncDisposable
{
    private ClusterClient(CacheHost host, CacheCounters counters)
    {
        Host = host;
        Counters = counters;
    }

    public CacheHost Host { get; }

    public CacheCounters Counters { get; }

    public IRbacCache Cache => Host.Cache;

    public string KeyPrefix => Host.KeyPrefix;

    public static async Task<ClusterClient> StartAsync(RedisCluster cluster, string keyPrefix, Action<BendCareCacheOptions>? configure = null)
    {
        var counters = new CacheCounters();
        try
        {
            var host = await CacheHost.StartAsync(RedisCluster.Host, cluster.Seed.Port, keyPrefix, configure);
            counters.Bind(host);
            return new ClusterClient(host, counters);
        }
        catch
        {
            counters.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Nothing went wrong between the library and the cluster: no Warning or Error logged (except the listed event
    /// ids), no invalidation deferred, no background operation failed, and the error, timeout and unreadable-entry
    /// counters are zero.
    /// </summary>
    public void AssertNoRedisTrouble(params int[] allowedEventIds)
    {
        var trouble = Host.Logs.Entries
            .Where(e => (e.Level >= LogLevel.Warning || e.EventId.Id is Log.InvalidationDeferredId or Log.BackgroundOperationFailedId)
                && !allowedEventIds.Contains(e.EventId.Id))
            .Select(e => $"{e.Level} {e.EventId.Id}: {e.Message}")
            .ToList();
        Assert.True(trouble.Count == 0, "unexpected log entries: " + string.Join(" | ", trouble));
        Assert.True(Counters.Total(CacheCounters.RedisErrors) == 0, "redis errors counted: " + Counters.Describe() + "; last error " + Host.Connection.LastError);
        Assert.True(Counters.Total(CacheCounters.Timeouts) == 0, "redis timeouts counted: " + Counters.Describe() + "; last error " + Host.Connection.LastError);
        Assert.Equal(0, Counters.Total(CacheCounters.Unreadable));
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Counters.Dispose();
    }
}
