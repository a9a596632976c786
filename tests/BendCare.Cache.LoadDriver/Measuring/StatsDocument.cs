namespace BendCare.Cache.LoadDriver.Measuring;

/// <summary>The service's <c>/stats</c> document: totals since its start.</summary>
internal sealed record StatsDocument(
    DateTimeOffset Timestamp,
    string CacheMode,
    RequestsDocument Requests,
    DatabaseDocument Database,
    Dictionary<string, CacheTypeDocument> CacheTypes)
{
    /// <summary>The query the service makes once at start and never again.</summary>
    public const string SeedQuery = "seed";

    /// <summary>Database queries but the seed.</summary>
    public long Queries => Database.ByName.Where(q => q.Key != SeedQuery).Sum(q => q.Value);

    public long Hits => CacheTypes.Values.Sum(c => c.Hits);

    public long Misses => CacheTypes.Values.Sum(c => c.Misses);
}

internal sealed record RequestsDocument(long Total, Dictionary<string, long> ByStatus);

internal sealed record DatabaseDocument(long Queries, Dictionary<string, long> ByName);

internal sealed record CacheTypeDocument(long Hits, long Misses, long LoaderCalls);
