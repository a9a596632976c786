using System.Diagnostics.Metrics;

namespace BendCare.Cache.LocalCache;

/// <summary>The in-process cache's instruments, on the library's meter.</summary>
internal sealed class LocalCacheMetrics
{
    private readonly Counter<long> _hits;
    private readonly Counter<long> _lapses;
    private readonly Counter<long> _silentReceivers;
    private readonly Histogram<double> _broadcastWait;
    private Func<bool>? _verified;

    public LocalCacheMetrics(Meter meter)
    {
        _hits = meter.CreateCounter<long>("bendcare.cache.local.hits", "{hit}", "Reads answered from the in-process cache (neither Redis nor the database asked).");
        _lapses = meter.CreateCounter<long>("bendcare.cache.local.lapses", "{lapse}", "Times the in-process cache stopped serving: heartbeat lost or late, connection failed or replaced.");
        _silentReceivers = meter.CreateCounter<long>("bendcare.cache.local.silent_receivers", "{instance}", "Instances that did not acknowledge an invalidation within the verification window.");
        _broadcastWait = meter.CreateHistogram<double>("bendcare.cache.local.broadcast.duration", "s", "How long an invalidation waited for every instance's acknowledgement.");
        meter.CreateObservableGauge("bendcare.cache.local.verified", () => _verified?.Invoke() == true ? 1 : 0, description: "1 while this instance may serve from its in-process cache.");
    }

    public void Hit(in KeyValuePair<string, object?> typeTag) => _hits.Add(1, typeTag);

    public void Lapse() => _lapses.Add(1);

    public void SilentReceivers(long count) => _silentReceivers.Add(count);

    public void BroadcastWait(TimeSpan wait) => _broadcastWait.Record(wait.TotalSeconds);

    public void ObserveVerified(Func<bool> verified) => _verified = verified;
}
