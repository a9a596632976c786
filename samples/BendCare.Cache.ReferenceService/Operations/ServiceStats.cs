using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using BendCare.Cache.ReferenceService.Database;

namespace BendCare.Cache.ReferenceService.Operations;

/// <summary>
/// What <c>/stats</c> reports: requests served, database queries, and per cache type the hits, misses and loader calls
/// read from the library's meter <c>BendCare.Cache</c> with a <see cref="MeterListener"/>. Only this application's
/// meter is counted (the one its <see cref="IMeterFactory"/> created), so two instances in one process stay apart.
/// </summary>
internal sealed class ServiceStats : IDisposable
{
    public const string CacheMeterName = "BendCare.Cache";

    /// <summary>The library's cache types (the <c>cache.type</c> tag), always listed even before their first read.</summary>
    public static readonly string[] CacheTypes = ["user_context", "role_perms", "user_basic", "token_bl", "jwt_payload"];

    private static readonly Dictionary<string, int> Instruments = new(StringComparer.Ordinal)
    {
        ["bendcare.cache.hits"] = 0,
        ["bendcare.cache.misses"] = 1,
        ["bendcare.cache.loader.calls"] = 2,
    };

    private readonly IMeterFactory _meterFactory;
    private readonly QueryLog _queries;
    private readonly CacheMode _mode;
    private readonly TimeProvider _time;
    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<string, long[]> _byCacheType = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, long> _byStatus = new();
    private long _requests;

    public ServiceStats(IMeterFactory meterFactory, QueryLog queries, CacheMode mode, TimeProvider time)
    {
        _meterFactory = meterFactory;
        _queries = queries;
        _mode = mode;
        _time = time;
        foreach (string type in CacheTypes)
        {
            _byCacheType[type] = new long[Instruments.Count];
        }

        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == CacheMeterName
                    && ReferenceEquals(instrument.Meter.Scope, _meterFactory)
                    && Instruments.TryGetValue(instrument.Name, out int slot))
                {
                    listener.EnableMeasurementEvents(instrument, slot);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Counts a request served (operations endpoints excluded).</summary>
    public void RequestServed(int statusCode)
    {
        Interlocked.Increment(ref _requests);
        _byStatus.AddOrUpdate(statusCode, 1, static (_, count) => count + 1);
    }

    public StatsSnapshot Snapshot()
    {
        var cacheTypes = new SortedDictionary<string, CacheTypeStats>(StringComparer.Ordinal);
        foreach (var (type, counts) in _byCacheType)
        {
            cacheTypes[type] = new CacheTypeStats(Interlocked.Read(ref counts[0]), Interlocked.Read(ref counts[1]), Interlocked.Read(ref counts[2]));
        }

        var byStatus = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (status, count) in _byStatus)
        {
            byStatus[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = count;
        }

        return new StatsSnapshot(
            _time.GetUtcNow(),
            _mode.Name,
            new RequestStats(Interlocked.Read(ref _requests), byStatus),
            new DatabaseStats(_queries.Total, _queries.ByName),
            cacheTypes);
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string type = "unknown";
        foreach (var tag in tags)
        {
            if (tag.Key == "cache.type" && tag.Value is string name)
            {
                type = name;
            }
        }

        var counts = _byCacheType.GetOrAdd(type, static _ => new long[Instruments.Count]);
        Interlocked.Add(ref counts[(int)state!], value);
    }
}

/// <summary>The <c>/stats</c> document.</summary>
internal sealed record StatsSnapshot(
    DateTimeOffset Timestamp,
    string CacheMode,
    RequestStats Requests,
    DatabaseStats Database,
    IReadOnlyDictionary<string, CacheTypeStats> CacheTypes);

/// <summary>Requests served (every endpoint but <c>/</c>, <c>/stats</c>, <c>/health</c> and <c>/metrics</c>), by HTTP status.</summary>
internal sealed record RequestStats(long Total, IReadOnlyDictionary<string, long> ByStatus);

/// <summary>Database queries since start, by query name.</summary>
internal sealed record DatabaseStats(long Queries, IReadOnlyDictionary<string, long> ByName);

/// <summary>One cache type's counters from the <c>BendCare.Cache</c> meter since start.</summary>
internal sealed record CacheTypeStats(long Hits, long Misses, long LoaderCalls);
