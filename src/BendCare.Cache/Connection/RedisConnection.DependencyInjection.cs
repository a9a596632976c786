using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.Connection;

internal sealed partial class RedisConnection
{
    /// <summary>The constructor the container calls; logging is optional (no factory ⇒ no log lines).</summary>
    [ActivatorUtilitiesConstructor]
    public RedisConnection(IOptions<BendCareCacheOptions> options, CacheMetrics metrics, TimeProvider time, ILoggerFactory? loggerFactory = null)
        : this(options.Value, metrics, CacheLogger.Create(loggerFactory), time)
    {
    }
}
