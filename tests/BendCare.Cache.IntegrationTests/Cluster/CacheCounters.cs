using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BendCare.Cache.IntegrationTests.Cluster;

/// <summary>
/// Sums the counters of the <c>BendCare.Cache</c> meter, as an operator's metrics pipeline would see them. Started
/// before the host so nothing it records is missed; sums are kept per meter instance and read for one host only
/// (other tests running in parallel have meters of the same name).
/// </summary>
internal sealed class CacheCounters : IDisposable
{
    public const string Hits = "bendcare.cache.hits";
    public const string Misses = "bendcare.cache.misses";
    public const string LoaderCalls = "bendcare.cache.loader.calls";
    public const string RedisErrors = "bendcare.cache.redis.errors";
    public const string Timeouts = "bendcare.cache.redis.timeouts";
    public const string Unreadable = "bendcare.cache.entries.unreadable";
    public const string WriteBacksDropped = "bendcare.cache.writebacks.dropped";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(Meter Meter, string Instrument, string Type), long> _sums = new();
    private Meter? _meter;

    public CacheCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "BendCare.Cache")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string type = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "cache.type")
                {
                    type = tag.Value as string ?? "";
                }
            }

            _sums.AddOrUpdate((instrument.Meter, instrument.Name, type), value, (_, sum) => sum + value);
        });
        _listener.Start();
    }

    /// <summary>From now on, report the sums of this host's meter.</summary>
    public void Bind(CacheHost host) => _meter = host.Services.GetRequiredService<CacheMetrics>().Meter;

    /// <summary>Sum of a counter over every cache type.</summary>
    public long Total(string instrument) => Mine().Where(p => p.Key.Instrument == instrument).Sum(p => p.Value);

    /// <summary>Sum of a counter for one cache type.</summary>
    public long Of(string instrument, string cacheType) => Mine().Where(p => p.Key.Instrument == instrument && p.Key.Type == cacheType).Sum(p => p.Value);

    public string Describe() =>
        string.Join(", ", Mine().OrderBy(p => p.Key.Instrument, StringComparer.Ordinal).ThenBy(p => p.Key.Type, StringComparer.Ordinal).Select(p => $"{p.Key.Instrument}[{p.Key.Type}]={p.Value}"));

    public void Dispose() => _listener.Dispose();

    private IEnumerable<KeyValuePair<(Meter Meter, string Instrument, string Type), long>> Mine()
    {
        var meter = _meter ?? throw new InvalidOperationException("Bind the counters to a host first.");
        return _sums.Where(p => ReferenceEquals(p.Key.Meter, meter));
    }
}
