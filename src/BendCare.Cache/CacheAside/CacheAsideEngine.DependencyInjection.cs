using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.CacheAside;

internal sealed partial class CacheAsideEngine
{
    /// <summary>The constructor the container calls; logging is optional (no factory ⇒ no log lines).</summary>
    [ActivatorUtilitiesConstructor]
    public CacheAsideEngine(RedisConnection connection, IOptions<BendCareCacheOptions> options, CacheMetrics metrics, TimeProvider time, ILoggerFactory? loggerFactory = null)
        : this(connection, options.Value, metrics, CacheLogger.Create(loggerFactory), time)
    {
    }
}
