using System.Collections.ObjectModel;
using BendCare.Cache.CacheAside;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BendCare.Cache;

/// <summary>The five cache types as data: key pattern, TTL policy, serializer, log lines, groups.</summary>
internal sealed class RbacCacheTypes
{
    /// <summary>The constructor the container calls.</summary>
    [ActivatorUtilitiesConstructor]
    public RbacCacheTypes(IOptions<BendCareCacheOptions> options)
        : this(options.Value)
    {
    }

    internal RbacCacheTypes(BendCareCacheOptions options)
    {
        string prefix = options.KeyPrefix;
        var json = CacheJsonContext.Default;

        // Spans name user and role ids only when asked to; token ids never (they are credentials' handles).
        string? userIdAttribute = options.TraceIds ? CacheTracing.UserIdAttribute : null;
        string? roleIdAttribute = options.TraceIds ? CacheTracing.RoleIdAttribute : null;

        var userContextTtl = options.UserContextTtl;
        UserContext = new CacheType<UserContext>(
            "user_context", prefix + "user_context:", json.UserContext, userContextTtl, (_, _) => userContextTtl, Log.UserContextHit, Log.UserContextMiss)
        {
            LocalFlag = LocalCacheTypes.UserContext,
            Freeze = static c => c with { RoleIds = Frozen(c.RoleIds), Permissions = Frozen(c.Permissions), OrganizationIds = Frozen(c.OrganizationIds) },
            TraceIdAttribute = userIdAttribute,

            // Role edits reach user contexts through these sets; see docs/freshness.md.
            Groups = new GroupIndex<UserContext>(
                prefix + "rbac_epoch", prefix + "role_members:", userContextTtl + userContextTtl + CacheType<UserContext>.MustWinMargin, static c => c.RoleIds, static c => c.UserId)
            {
                LegacySetKeyPrefix = prefix + "role_users:",
            },
        };

        var roleTtl = options.RolePermissionsTtl;
        RolePermissions = new CacheType<RolePermissions>(
            "role_perms", prefix + "role_perms:", json.RolePermissions, roleTtl, (_, _) => roleTtl, Log.RolePermissionsHit, Log.RolePermissionsMiss)
        {
            LocalFlag = LocalCacheTypes.RolePermissions,
            Freeze = static p => p with { Permissions = Frozen(p.Permissions) },
            TraceIdAttribute = roleIdAttribute,
        };

        var basicTtl = options.UserBasicTtl;
        UserBasic = new CacheType<UserBasicInfo>(
            "user_basic", prefix + "user_basic:", json.UserBasicInfo, basicTtl, (_, _) => basicTtl, Log.UserBasicHit, Log.UserBasicMiss)
        {
            // Every member is init-only and immutable: nothing to freeze.
            LocalFlag = LocalCacheTypes.UserBasic,
            TraceIdAttribute = userIdAttribute,
        };

        var blacklisted = options.TokenBlacklistedTtl;
        var notBlacklisted = options.TokenNotBlacklistedTtl;
        TokenBlacklist = new CacheType<bool>(
            "token_bl", prefix + "token_bl:", json.Boolean, Max(blacklisted, notBlacklisted), (v, _) => v ? blacklisted : notBlacklisted, Log.TokenBlacklistHit, Log.TokenBlacklistMiss)
        {
            RedactIdInLogs = true,
            LocalFlag = LocalCacheTypes.TokenBlacklist,
            IsPermanent = static blacklisted => blacklisted,

            // A "not blacklisted" answer loaded longer ago than it may live is not written back; so a blacklisting must
            // outlive only that horizon (plus the margin), however soon the token expires. See docs/freshness.md.
            WriteBackHorizon = notBlacklisted,
        };

        var jwtTtl = options.JwtPayloadTtl;
        JwtPayload = new CacheType<JwtPayload>(
            "jwt_payload", prefix + "jwt_payload:", json.JwtPayload, jwtTtl, (p, now) => Min(jwtTtl, p.ExpiresAt - now), Log.JwtPayloadHit, Log.JwtPayloadMiss)
        {
            RedactIdInLogs = true,
            LocalFlag = LocalCacheTypes.JwtPayload,
            Freeze = static p => p with { Claims = p.Claims as ReadOnlyDictionary<string, string> ?? new ReadOnlyDictionary<string, string>(p.Claims.ToDictionary(StringComparer.Ordinal)) },
        };
    }

    public CacheType<UserContext> UserContext { get; }

    public CacheType<RolePermissions> RolePermissions { get; }

    public CacheType<UserBasicInfo> UserBasic { get; }

    public CacheType<bool> TokenBlacklist { get; }

    public CacheType<JwtPayload> JwtPayload { get; }

    /// <summary>A read-only view no caller can cast back to a mutable list (a copy, so nobody holds the original).</summary>
    private static ReadOnlyCollection<string> Frozen(IReadOnlyList<string> list) => list as ReadOnlyCollection<string> ?? new ReadOnlyCollection<string>([.. list]);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
