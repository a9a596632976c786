using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Support;
using BendCare.Cache.IntegrationTests.Topology;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Freshness;

/// <summary>
/// The eviction watch needs <c>INFO</c>. A user without it still gets a working cache, but the library says that
/// evictions and restarts would go unnoticed: one Warning and a Degraded health check, never silence.
/// </summary>
public sealed class EvictionWatchPermissionTests(AclServerFixture acl) : IClassFixture<AclServerFixture>
{
    private const string Password = "app-user-secret";

    [Fact]
    public async Task A_user_without_INFO_gets_a_working_cache_a_warning_and_a_degraded_health_check()
    {
        string user = $"app-{Guid.NewGuid():N}";
        string prefix = $"bcos:noinfo{Guid.NewGuid():N}:";
        await acl.CreateUserAsync(user, Password, AclRules.ForLibrary(prefix, acl.Version).Replace(" +info", "", StringComparison.Ordinal));
        await using var host = await CacheHost.StartAsync(acl.Server.Host, acl.Server.Port, prefix, o =>
        {
            o.Username = user;
            o.Password = Password;
            o.OperationTimeout = TimeSpan.FromSeconds(5);
            o.EvictionCheckInterval = TimeSpan.FromMilliseconds(200);
        });

        await host.Cache.SetUserBasicAsync(Models.UserBasic("u1"));
        var unused = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1", "v2"));
        Same.Value(Models.UserBasic("u1"), await host.Cache.GetUserBasicAsync("u1", unused.Load));
        Assert.Equal(0, unused.Calls);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!host.Logs.Entries.Any(e => e.EventId.Id == Log.EvictionWatchBlindId))
        {
            Assert.True(DateTime.UtcNow < deadline, "no warning about the eviction watch within 15 s");
            await Task.Delay(50);
        }

        var health = await ((IHealthCheck)host.Services.GetService(typeof(RedisCacheHealthCheck))!).CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(LogLevel.Warning, host.Logs.Entries.First(e => e.EventId.Id == Log.EvictionWatchBlindId).Level);
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("INFO", health.Description, StringComparison.Ordinal);
    }
}
