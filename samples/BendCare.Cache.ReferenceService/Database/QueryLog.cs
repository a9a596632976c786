using System.Collections.Concurrent;

namespace BendCare.Cache.ReferenceService.Database;

/// <summary>Counts the database queries, in total and by name (what <c>/stats</c> reports).</summary>
internal sealed partial class QueryLog(ILogger<QueryLog> logger)
{
    private readonly ConcurrentDictionary<string, long> _byName = new(StringComparer.Ordinal);
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    public IReadOnlyDictionary<string, long> ByName => new SortedDictionary<string, long>(_byName, StringComparer.Ordinal);

    public void Record(string name)
    {
        Interlocked.Increment(ref _total);
        _byName.AddOrUpdate(name, 1, static (_, count) => count + 1);
        Query(name);
    }

    // The text is matched by the "Database Query Reduction" CloudWatch query: keep it exactly "Query: <name>".
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Query: {QueryName}")]
    private partial void Query(string queryName);
}
