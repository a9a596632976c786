// The usage examples of the public API contract (API.md), copied by hand: that document lives outside this
// repository. Compiled against the packed library; keep in step with the contract when it gains an example.
using BendCare.Cache;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ConsumerTest;

internal static class ApiContractSnippets
{
    /// <summary>Registration: the three overloads, and the health check.</summary>
    public static void Registration(IServiceCollection services, IConfiguration configuration)
    {
        services.AddBendCareRedisCache();                                  // reads configuration (below)
        services.AddBendCareRedisCache(o => { o.Host = "..."; o.KeyPrefix = "bcos:dev:"; });
        services.AddBendCareRedisCache(configuration.GetSection("BendCareCache"));   // optional overload
        services.AddHealthChecks().AddBendCareRedisCache();
        services.AddHealthChecks().AddBendCareRedisCache("bendcare-redis-cache", ["ready"]);
    }

    /// <summary>Options: every settable property named by the contract.</summary>
    public static void Options(BendCareCacheOptions o)
    {
        o.Host = "cache.example";
        o.Port = 6379;
        o.Username = "app";
        o.Password = "secret";
        o.UseTls = true;
        o.KeyPrefix = "";
        o.UserContextTtl = TimeSpan.FromMinutes(5);
        o.RolePermissionsTtl = TimeSpan.FromHours(24);
        o.UserBasicTtl = TimeSpan.FromMinutes(5);
        o.TokenBlacklistedTtl = TimeSpan.FromHours(1);
        o.TokenNotBlacklistedTtl = TimeSpan.FromMinutes(1);
        o.JwtPayloadTtl = TimeSpan.FromMinutes(5);
        o.ConfigureConnection = configuration => configuration.ClientName = "consumer";
    }

    /// <summary>Models: object initialisers work.</summary>
    public static (UserContext, RolePermissions, UserBasicInfo, JwtPayload) Models() =>
    (
        new UserContext { UserId = "u1", RoleIds = ["r1"], Permissions = ["p"], OrganizationIds = [] },
        new RolePermissions { RoleId = "r1", Permissions = ["p"] },
        new UserBasicInfo { UserId = "u1", Email = "u1@example.test", DisplayName = null, IsActive = true },
        new JwtPayload { TokenId = "t1", Subject = "u1", ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5), Claims = new Dictionary<string, string>() }
    );

    /// <summary>Every member of the cache-type table, the state overloads and the raw-token binding.</summary>
    public static async Task Members(IRbacCache cache, CancellationToken ct)
    {
        var (context, permissions, user, payload) = Models();

        UserContext? c = await cache.GetUserContextAsync("u1", _ => ValueTask.FromResult<UserContext?>(context), ct);
        c = await cache.GetUserContextAsync("u1", context, static (s, _) => ValueTask.FromResult<UserContext?>(s), ct);
        await cache.SetUserContextAsync(context, ct);
        await cache.InvalidateUserContextAsync("u1", ct);
        await cache.InvalidateUserContextsAsync(["u1", "u2"], ct);

        RolePermissions? p = await cache.GetRolePermissionsAsync("r1", _ => ValueTask.FromResult<RolePermissions?>(permissions), ct);
        p = await cache.GetRolePermissionsAsync("r1", permissions, static (s, _) => ValueTask.FromResult<RolePermissions?>(s), ct);
        await cache.SetRolePermissionsAsync(permissions, ct);
        await cache.InvalidateRolePermissionsAsync("r1", ct);

        UserBasicInfo? b = await cache.GetUserBasicAsync("u1", _ => ValueTask.FromResult<UserBasicInfo?>(user), ct);
        b = await cache.GetUserBasicAsync("u1", user, static (s, _) => ValueTask.FromResult<UserBasicInfo?>(s), ct);
        await cache.SetUserBasicAsync(user, ct);
        await cache.InvalidateUserBasicAsync("u1", ct);

        bool revoked = await cache.IsTokenBlacklistedAsync("t1", _ => ValueTask.FromResult(false), ct);
        revoked = await cache.IsTokenBlacklistedAsync("t1", false, static (s, _) => ValueTask.FromResult(s), ct);
        await cache.BlacklistTokenAsync("t1", payload.ExpiresAt, ct);
        await cache.BlacklistTokenAsync("t1", null, ct);

        JwtPayload? j = await cache.GetJwtPayloadAsync("t1", _ => ValueTask.FromResult<JwtPayload?>(payload), ct);
        j = await cache.GetJwtPayloadAsync("t1", "raw.token.value", _ => ValueTask.FromResult<JwtPayload?>(payload), ct);
        j = await cache.GetJwtPayloadAsync("t1", "raw.token.value", payload, static (s, _) => ValueTask.FromResult<JwtPayload?>(s), ct);
        await cache.SetJwtPayloadAsync(payload, ct);
        await cache.SetJwtPayloadAsync(payload, "raw.token.value", ct);
        await cache.InvalidateJwtPayloadAsync("t1", ct);

        GC.KeepAlive((c, p, b, revoked, j));
    }

    /// <summary>The connection check and every property of its result.</summary>
    public static async Task<string> ConnectionCheck(BendCareCacheOptions options, CancellationToken ct)
    {
        ConnectionCheckResult result = await BendCareConnectionCheck.RunAsync(options, TimeSpan.FromSeconds(5), ct);
        var fields = (result.Success, result.Endpoint, result.Tls, result.User, result.ServerProduct, result.ServerVersion,
            result.IsCluster, result.PingRoundTrip, result.ProbeRoundTrip, result.FailureReason, result.Message, result.Notes);
        GC.KeepAlive(fields);
        return result.ToText();
    }

    /// <summary>The health check reports Degraded, never Unhealthy, when Redis cannot be used.</summary>
    public static bool IsAcceptable(HealthStatus status) => status is HealthStatus.Healthy or HealthStatus.Degraded;
}
