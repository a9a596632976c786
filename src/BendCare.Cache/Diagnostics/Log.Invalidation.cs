using Microsoft.Extensions.Logging;

namespace BendCare.Cache.Diagnostics;

/// <summary>What became of invalidations, and the bookkeeping keys the freshness scheme heals.</summary>
internal static partial class Log
{
    internal const int InvalidationAppliedId = 3009;
    internal const int InvalidationDroppedId = 3010;
    internal const int InvalidationsLostAtDisposalId = 3011;
    internal const int BookkeepingKeyHealedId = 3012;

    [LoggerMessage(InvalidationAppliedId, LogLevel.Debug, "Invalidation of {CacheType} {CacheId} applied")]
    public static partial void InvalidationApplied(ILogger logger, string cacheType, string cacheId);

    [LoggerMessage(InvalidationDroppedId, LogLevel.Error, "Invalidation of {CacheType} {CacheId} neither applied nor remembered ({Reason}): an entry cached before it may be served until its TTL ends")]
    public static partial void InvalidationDropped(ILogger logger, string cacheType, string cacheId, string reason);

    [LoggerMessage(InvalidationsLostAtDisposalId, LogLevel.Error, "Redis cache disposed with {Count} invalidation(s) not replayed: entries cached before them may be served by other instances until their TTL ends")]
    public static partial void InvalidationsLostAtDisposal(ILogger logger, int count);

    [LoggerMessage(BookkeepingKeyHealedId, LogLevel.Warning, "Redis cache {Kind} {Name} held a foreign value: replaced. Freshness relies on nothing but this library writing its keys")]
    public static partial void BookkeepingKeyHealed(ILogger logger, string kind, string name);
}
