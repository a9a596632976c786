using BendCare.Cache.CacheAside;
using BendCare.Cache.Connection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BendCare.Cache.Diagnostics;

/// <summary>
/// Healthy when requests use Redis, Degraded (never Unhealthy) when they fall back to the database: the application
/// still works, and Degraded while the server evicts keys (freshness then does not hold). Data: the masked endpoint,
/// the worst breaker state and how many breakers are not closed, pending invalidations, evictions seen and the last
/// error (redacted).
/// </summary>
internal sealed class RedisCacheHealthCheck : IHealthCheck
{
    private readonly RedisConnection _connection;
    private readonly CacheAsideEngine _engine;

    public RedisCacheHealthCheck(RedisConnection connection, CacheAsideEngine engine)
    {
        _connection = connection;
        _engine = engine;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["endpoint"] = _connection.Endpoint,
            ["breaker"] = _connection.BreakerState.ToString(),
            ["pendingInvalidations"] = _engine.RememberedInvalidations,
            ["breakersNotClosed"] = _connection.BreakersNotClosed,
            ["serverEvictions"] = _connection.ServerEvictions,
            ["evictionWatchBlind"] = _connection.IsEvictionWatchBlind,
            ["lastError"] = _connection.LastError ?? "",
        };

        HealthCheckResult result;
        if (!_connection.IsEnabled)
        {
            result = HealthCheckResult.Healthy("Redis cache disabled (REDIS_HOST not set): reads go to the database.", data);
        }
        else if (_connection.IsUsable && _engine.RememberedInvalidations == 0 && !_connection.HasRecentConfigurationProblem && !_connection.HasRecentEvictions && !_connection.IsEvictionWatchBlind)
        {
            result = HealthCheckResult.Healthy("Redis cache in use.", data);
        }
        else if (_connection.IsUsable && _engine.RememberedInvalidations == 0 && !_connection.HasRecentConfigurationProblem && !_connection.HasRecentEvictions)
        {
            result = HealthCheckResult.Degraded(
                "Redis cache cannot read INFO stats of every primary: evictions and restarts would go unnoticed (grant the user +info).",
                data: data);
        }
        else if (_connection.IsUsable && _engine.RememberedInvalidations == 0 && !_connection.HasRecentConfigurationProblem)
        {
            result = HealthCheckResult.Degraded(
                "Redis server evicted keys recently: invalidations may be lost (give the cache more memory or use maxmemory-policy noeviction).",
                data: data);
        }
        else
        {
            result = HealthCheckResult.Degraded(
                _connection.HasRecentConfigurationProblem
                    ? "Redis cache misconfigured (auth, TLS or ACL permissions): some or all reads go to the database."
                    : "Redis cache unavailable: reads go to the database.",
                data: data);
        }

        return Task.FromResult(result);
    }
}
