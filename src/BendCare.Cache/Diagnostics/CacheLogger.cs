using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BendCare.Cache.Diagnostics;

/// <summary>The one logger category of the library, so every component's lines can be filtered together.</summary>
internal static class CacheLogger
{
    public const string Category = BendCareCacheDiagnostics.LogCategory;

    /// <summary>The library's logger, or a no-op one when the host registered no logging.</summary>
    public static ILogger Create(ILoggerFactory? loggerFactory) =>
        loggerFactory?.CreateLogger(Category) ?? NullLogger.Instance;
}
