using System.Diagnostics.Metrics;
using BendCare.Cache.Connection;

namespace BendCare.Cache.Diagnostics;

/// <summary>
/// The <c>BendCare.Cache</c> meter. Every instrument is tagged by cache type only (low cardinality). Hit rate is
/// hits / (hits + misses); database queries avoided is hits.
/// </summary>
internal sealed class CacheMetrics : IDisposable
{
    public const string MeterName = BendCareCacheDiagnostics.MeterName;

    private readonly Meter _meter;
    private readonly Counter<long> _hits;
    private readonly Counter<long> _misses;
    private readonly Counter<long> _loaderCalls;
    private readonly Counter<long> _redisErrors;
    private readonly Counter<long> _timeouts;
    private readonly Counter<long> _unreadable;
    private readonly Counter<long> _writeBacksDropped;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _serverEvictions;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _invalidations;
    private Func<int>? _rememberedInvalidations;
    private Func<BreakerState>? _breakerState;

    public CacheMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _hits = _meter.CreateCounter<long>("bendcare.cache.hits", "{hit}", "Reads answered from the cache, Redis or the in-process L1 (database queries avoided).");
        _misses = _meter.CreateCounter<long>("bendcare.cache.misses", "{miss}", "Reads not answered from Redis, whatever the reason.");
        _loaderCalls = _meter.CreateCounter<long>("bendcare.cache.loader.calls", "{call}", "Calls of the caller's database loader.");
        _redisErrors = _meter.CreateCounter<long>("bendcare.cache.redis.errors", "{error}", "Redis operations that failed.");
        _timeouts = _meter.CreateCounter<long>("bendcare.cache.redis.timeouts", "{timeout}", "Redis operations abandoned after the operation timeout.");
        _unreadable = _meter.CreateCounter<long>("bendcare.cache.entries.unreadable", "{entry}", "Corrupt, foreign or incompatible entries found and healed.");
        _writeBacksDropped = _meter.CreateCounter<long>("bendcare.cache.writebacks.dropped", "{write}", "Write-backs not done because an invalidation won or too many were pending.");
        _reconnects = _meter.CreateCounter<long>("bendcare.cache.reconnects", "{reconnect}", "Connections replaced after staying broken.");
        _invalidations = _meter.CreateCounter<long>("bendcare.cache.invalidations", "{invalidation}", "Invalidations, blacklistings and sets, by outcome: applied, remembered (replayed later) or dropped.");
        _serverEvictions = _meter.CreateCounter<long>("bendcare.cache.server.evictions", "{key}", "Keys the Redis servers evicted (evicted_keys growth); freshness guarantees need zero.");
        _duration = _meter.CreateHistogram<double>("bendcare.cache.operation.duration", "s", "Duration of cache reads, loader included on a miss.");
        _meter.CreateObservableGauge("bendcare.cache.breaker.state", () => (int)(_breakerState?.Invoke() ?? BreakerState.Closed), description: "0 closed (Redis used), 1 half-open (probing), 2 open (Redis skipped).");
        _meter.CreateObservableGauge("bendcare.cache.invalidations.pending", () => _rememberedInvalidations?.Invoke() ?? 0, "{invalidation}", "Invalidations remembered for replay while Redis is unreachable.");
    }

    public Meter Meter => _meter;

    public void ObserveBreakerState(Func<BreakerState> state) => _breakerState = state;

    public void ObserveRememberedInvalidations(Func<int> count) => _rememberedInvalidations = count;

    public void Hit(KeyValuePair<string, object?> tag) => _hits.Add(1, tag);

    public void Miss(KeyValuePair<string, object?> tag) => _misses.Add(1, tag);

    public void LoaderCall(KeyValuePair<string, object?> tag) => _loaderCalls.Add(1, tag);

    public void Unreadable(KeyValuePair<string, object?> tag) => _unreadable.Add(1, tag);

    public void WriteBackDropped(KeyValuePair<string, object?> tag) => _writeBacksDropped.Add(1, tag);

    public void Duration(KeyValuePair<string, object?> tag, TimeSpan elapsed) => _duration.Record(elapsed.TotalSeconds, tag);

    public void RedisError(string cacheType) => _redisErrors.Add(1, new KeyValuePair<string, object?>("cache.type", cacheType));

    public void Timeout(string cacheType) => _timeouts.Add(1, new KeyValuePair<string, object?>("cache.type", cacheType));

    public void Reconnect() => _reconnects.Add(1);

    public void Invalidation(string cacheType, CacheAside.InvalidationOutcome outcome)
    {
        if (outcome != CacheAside.InvalidationOutcome.Disabled)
        {
            // The same names as the spans' bendcare.cache.outcome.
            _invalidations.Add(1, new KeyValuePair<string, object?>("cache.type", cacheType), new KeyValuePair<string, object?>("outcome", CacheTracing.Name(outcome)));
        }
    }

    /// <summary>
    /// A write Redis took whose message to the other instances' in-process caches could not be published yet (it is
    /// retried): counted as remembered with <c>stage=l1</c>, besides its Redis outcome.
    /// </summary>
    public void LocalBroadcastRemembered(string cacheType) =>
        _invalidations.Add(1, new KeyValuePair<string, object?>("cache.type", cacheType), new KeyValuePair<string, object?>("outcome", "remembered"), new KeyValuePair<string, object?>("stage", "l1"));

    public void ServerEvictions(long count) => _serverEvictions.Add(count);

    public void Dispose() => _meter.Dispose();
}
