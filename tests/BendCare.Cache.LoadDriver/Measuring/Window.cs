using BendCare.Cache.LoadDriver.Traffic;

namespace BendCare.Cache.LoadDriver.Measuring;

/// <summary>The service's counters and the driver's at one moment (<see cref="Elapsed"/>: since the traffic started).</summary>
internal sealed record Snapshot(TimeSpan Elapsed, StatsDocument Stats, OutcomeCounts Driver, RedisTrouble Trouble);

/// <summary>What happened between two snapshots: the service's deltas (by its own timestamps) and the driver's.</summary>
internal sealed record Window(Snapshot From, Snapshot To)
{
    public double Seconds => (To.Stats.Timestamp - From.Stats.Timestamp).TotalSeconds;

    /// <summary>Requests the service counted (every kind: protected GETs, logins, logouts, edits).</summary>
    public long Requests => To.Stats.Requests.Total - From.Stats.Requests.Total;

    /// <summary>Database queries, the seed excluded.</summary>
    public long Queries => To.Stats.Queries - From.Stats.Queries;

    public double RequestsPerSecond => Requests / Seconds;

    public double QueriesPerSecond => Queries / Seconds;

    public double QueriesPerRequest => Requests == 0 ? double.NaN : (double)Queries / Requests;

    public long Hits => To.Stats.Hits - From.Stats.Hits;

    public long Misses => To.Stats.Misses - From.Stats.Misses;

    /// <summary>hits / (hits + misses) over every cache type; NaN when nothing was read through the cache.</summary>
    public double HitRate => Hits + Misses == 0 ? double.NaN : (double)Hits / (Hits + Misses);

    public OutcomeCounts Driver => To.Driver - From.Driver;

    public RedisTrouble Trouble => To.Trouble - From.Trouble;

    /// <summary>Queries by name (the seed excluded), most first, names with none left out.</summary>
    public IReadOnlyList<(string Name, long Count)> QueriesByName =>
    [
        .. To.Stats.Database.ByName
            .Where(q => q.Key != StatsDocument.SeedQuery)
            .Select(q => (q.Key, q.Value - From.Stats.Database.ByName.GetValueOrDefault(q.Key)))
            .Where(q => q.Item2 > 0)
            .OrderByDescending(q => q.Item2)
            .ThenBy(q => q.Key, StringComparer.Ordinal),
    ];

    /// <summary>One cache type's hits, misses and loader calls in the window.</summary>
    public CacheTypeDocument CacheType(string name)
    {
        var to = To.Stats.CacheTypes.GetValueOrDefault(name) ?? new CacheTypeDocument(0, 0, 0);
        var from = From.Stats.CacheTypes.GetValueOrDefault(name) ?? new CacheTypeDocument(0, 0, 0);
        return new CacheTypeDocument(to.Hits - from.Hits, to.Misses - from.Misses, to.LoaderCalls - from.LoaderCalls);
    }
}
