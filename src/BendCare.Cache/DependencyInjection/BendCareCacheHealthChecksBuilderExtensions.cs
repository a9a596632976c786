using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the BendCare cache's health check.</summary>
public static class BendCareCacheHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check named <paramref name="name"/>: Healthy while requests use Redis, Degraded (never Unhealthy)
    /// while they fall back to the database, with the masked endpoint, breaker state and last error in its data.
    /// Requires <c>services.AddBendCareRedisCache()</c>.
    /// </summary>
    public static IHealthChecksBuilder AddBendCareRedisCache(this IHealthChecksBuilder builder, string name = "bendcare-redis-cache", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            static sp => sp.GetRequiredService<RedisCacheHealthCheck>(),
            HealthStatus.Degraded,
            tags));
    }
}
