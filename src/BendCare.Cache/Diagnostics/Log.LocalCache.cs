using Microsoft.Extensions.Logging;

namespace BendCare.Cache.Diagnostics;

/// <summary>The in-process cache (L1) and its invalidation channel.</summary>
internal static partial class Log
{
    internal const int LocalCacheSilentReceiversId = 4001;

    [LoggerMessage(LocalCacheSilentReceiversId, LogLevel.Debug, "In-process cache invalidation: {Count} instance(s) did not acknowledge within the verification window (their in-process caches stopped serving by then)")]
    public static partial void LocalCacheSilentReceivers(ILogger logger, long count);
}
