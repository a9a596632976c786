using Microsoft.Extensions.Logging;

namespace BendCare.Cache.Diagnostics;

/// <summary>
/// Every log line the library writes, source-generated (no cost when the level is off) with stable event ids that
/// dashboards and tests can rely on. The hit/miss texts are the ones existing CloudWatch queries match, written through
/// <see cref="CacheResultLog"/> so that the id is a field of the line, not part of its text.
/// </summary>
internal static partial class Log
{
    internal const int UserContextHitId = 1001;
    internal const int UserContextMissId = 1002;
    internal const int RolePermissionsHitId = 1003;
    internal const int RolePermissionsMissId = 1004;
    internal const int UserBasicHitId = 1005;
    internal const int UserBasicMissId = 1006;
    internal const int TokenBlacklistHitId = 1007;
    internal const int TokenBlacklistMissId = 1008;
    internal const int JwtPayloadHitId = 1009;
    internal const int JwtPayloadMissId = 1010;

    internal const int CacheDisabledId = 2001;
    internal const int ConnectingId = 2002;
    internal const int CacheUnavailableId = 2003;
    internal const int CacheRecoveredId = 2004;
    internal const int ConfigurationProblemId = 2005;
    internal const int ForcedReconnectId = 2006;
    internal const int ConnectedId = 2007;
    internal const int ServerEvictionsId = 2008;
    internal const int EvictionWatchBlindId = 2009;
    internal const int ServerRestartedId = 2010;

    internal const int UnreadableEntryId = 3001;
    internal const int WrongTypeEntryId = 3002;
    internal const int FingerprintMismatchId = 3003;
    internal const int InvalidationDeferredId = 3004;
    internal const int InvalidationsReplayedId = 3005;
    internal const int RememberedInvalidationsFullId = 3006;
    internal const int BackgroundOperationFailedId = 3007;
    internal const int WriteBackDroppedId = 3008;

    // The hit/miss lines: the seed's texts, the id a structured field (see CacheResultLog for why not [LoggerMessage]).
    internal static readonly CacheResultLog UserContextHit = new(UserContextHitId, nameof(UserContextHit), "User context cache hit in Redis", "userId");
    internal static readonly CacheResultLog UserContextMiss = new(UserContextMissId, nameof(UserContextMiss), "User context cache miss in Redis", "userId");
    internal static readonly CacheResultLog RolePermissionsHit = new(RolePermissionsHitId, nameof(RolePermissionsHit), "Role permissions cache hit in Redis", "roleId");
    internal static readonly CacheResultLog RolePermissionsMiss = new(RolePermissionsMissId, nameof(RolePermissionsMiss), "Role permissions cache miss in Redis", "roleId");
    internal static readonly CacheResultLog UserBasicHit = new(UserBasicHitId, nameof(UserBasicHit), "User basic info cache hit in Redis", "userId");
    internal static readonly CacheResultLog UserBasicMiss = new(UserBasicMissId, nameof(UserBasicMiss), "User basic info cache miss in Redis", "userId");
    internal static readonly CacheResultLog TokenBlacklistHit = new(TokenBlacklistHitId, nameof(TokenBlacklistHit), "Token blacklist cache hit in Redis", "tokenId");
    internal static readonly CacheResultLog TokenBlacklistMiss = new(TokenBlacklistMissId, nameof(TokenBlacklistMiss), "Token blacklist cache miss in Redis", "tokenId");
    internal static readonly CacheResultLog JwtPayloadHit = new(JwtPayloadHitId, nameof(JwtPayloadHit), "JWT payload cache hit in Redis", "tokenId");
    internal static readonly CacheResultLog JwtPayloadMiss = new(JwtPayloadMissId, nameof(JwtPayloadMiss), "JWT payload cache miss in Redis", "tokenId");

    [LoggerMessage(CacheDisabledId, LogLevel.Information, "Redis cache disabled (REDIS_HOST is not set): every read goes to the database")]
    public static partial void CacheDisabled(ILogger logger);

    [LoggerMessage(ConnectingId, LogLevel.Information, "Redis cache connecting in the background to {Endpoint}")]
    public static partial void Connecting(ILogger logger, string endpoint);

    [LoggerMessage(ConnectedId, LogLevel.Information, "Redis cache connected to {Endpoint} ({Server})")]
    public static partial void Connected(ILogger logger, string endpoint, string server);

    [LoggerMessage(CacheUnavailableId, LogLevel.Warning, "Redis cache unavailable ({Reason}) at {Endpoint}: requests use the database until it recovers. Last error: {LastError}")]
    public static partial void CacheUnavailable(ILogger logger, string reason, string endpoint, string? lastError);

    [LoggerMessage(CacheRecoveredId, LogLevel.Information, "Redis cache available again at {Endpoint}")]
    public static partial void CacheRecovered(ILogger logger, string endpoint);

    [LoggerMessage(ConfigurationProblemId, LogLevel.Error, "Redis cache cannot be used ({Reason}) at {Endpoint}: check the cache's TLS/user/password/ACL configuration; requests use the database. Last error: {LastError}")]
    public static partial void ConfigurationProblem(ILogger logger, string reason, string endpoint, string? lastError);

    [LoggerMessage(ForcedReconnectId, LogLevel.Warning, "Redis cache connection to {Endpoint} replaced after {Seconds:F0} s of failures")]
    public static partial void ForcedReconnect(ILogger logger, string endpoint, double seconds);

    [LoggerMessage(ServerEvictionsId, LogLevel.Warning, "Redis server evicted {Count} key(s) since the last check ({Total} since start): freshness needs a server that never evicts (tombstones, role sets and the epoch may be gone, so revoked data can be served again until its TTL ends). Give the cache more memory or set maxmemory-policy to noeviction")]
    public static partial void ServerEvictions(ILogger logger, long count, long total);

    [LoggerMessage(EvictionWatchBlindId, LogLevel.Warning, "Redis cache cannot read INFO stats of every primary ({Error}): evictions and restarts, which freshness must not have, go unnoticed. Grant the cache's user +info")]
    public static partial void EvictionWatchBlind(ILogger logger, string error);

    [LoggerMessage(ServerRestartedId, LogLevel.Warning, "Redis server restarted (its counters went back; {Count} key(s) evicted since): without persistence its tombstones, role sets and epoch are gone, so revoked data cached by other means can be served again until its TTL ends")]
    public static partial void ServerRestarted(ILogger logger, long count);

    [LoggerMessage(UnreadableEntryId, LogLevel.Warning, "Unreadable {CacheType} entry for {CacheId} ({Problem}): treated as a miss and overwritten")]
    public static partial void UnreadableEntry(ILogger logger, string cacheType, string cacheId, string problem);

    [LoggerMessage(WrongTypeEntryId, LogLevel.Warning, "{CacheType} key for {CacheId} holds a non-string Redis value: deleted and treated as a miss")]
    public static partial void WrongTypeEntry(ILogger logger, string cacheType, string cacheId);

    [LoggerMessage(FingerprintMismatchId, LogLevel.Warning, "JWT payload entry for {CacheId} belongs to a different token with the same id: not served")]
    public static partial void FingerprintMismatch(ILogger logger, string cacheId);

    [LoggerMessage(InvalidationDeferredId, LogLevel.Debug, "Redis unreachable: invalidation of {CacheType} {CacheId} remembered for replay")]
    public static partial void InvalidationDeferred(ILogger logger, string cacheType, string cacheId);

    [LoggerMessage(InvalidationsReplayedId, LogLevel.Information, "Replayed {Count} invalidation(s) remembered while Redis was unreachable")]
    public static partial void InvalidationsReplayed(ILogger logger, int count);

    [LoggerMessage(RememberedInvalidationsFullId, LogLevel.Error, "Too many invalidations remembered while Redis is unreachable ({Limit}): this one is not remembered; entries cached before the outage may be served until their TTL ends")]
    public static partial void RememberedInvalidationsFull(ILogger logger, int limit);

    [LoggerMessage(BackgroundOperationFailedId, LogLevel.Debug, "Redis cache background operation '{Operation}' failed: {Error}")]
    public static partial void BackgroundOperationFailed(ILogger logger, string operation, string error);

    [LoggerMessage(WriteBackDroppedId, LogLevel.Debug, "{CacheType} write-back for {CacheId} dropped: {Reason}")]
    public static partial void WriteBackDropped(ILogger logger, string cacheType, string cacheId, string reason);
}
