namespace BendCare.Cache;

/// <summary>
/// The names under which the library publishes its telemetry, for an OpenTelemetry (or any other) set-up:
/// <c>.WithTracing(t =&gt; t.AddSource(BendCareCacheDiagnostics.ActivitySourceName))</c> and
/// <c>.WithMetrics(m =&gt; m.AddMeter(BendCareCacheDiagnostics.MeterName))</c>. The library itself depends on no
/// OpenTelemetry package. Span names and attributes are listed in <c>docs/observability.md</c>.
/// </summary>
public static class BendCareCacheDiagnostics
{
    /// <summary>
    /// The <see cref="System.Diagnostics.ActivitySource"/> of the public operations: one span per getter, set,
    /// invalidation and blacklisting, a child span for a role edit's fan-out and for a background write-back, and a root
    /// span for each replay of invalidations remembered during an outage. Spans cost nothing while no listener is attached.
    /// </summary>
    public const string ActivitySourceName = "BendCare.Cache";

    /// <summary>
    /// The <see cref="System.Diagnostics.ActivitySource"/> of the Redis commands the operations send (one client span
    /// per command actually sent: <c>GET</c>, <c>SET</c>, <c>EVAL</c>), children of the operation's span. A separate
    /// source, so a service can trace the operations without a second span on every hit.
    /// </summary>
    public const string RedisActivitySourceName = "BendCare.Cache.Redis";

    /// <summary>The <see cref="System.Diagnostics.Metrics.Meter"/> with the hit, miss, loader, error, timeout and breaker instruments.</summary>
    public const string MeterName = "BendCare.Cache";

    /// <summary>The one logger category of every log line the library writes.</summary>
    public const string LogCategory = "BendCare.Cache";
}
