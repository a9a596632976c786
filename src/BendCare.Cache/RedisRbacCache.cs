using BendCare.Cache.CacheAside;
using BendCare.Cache.Diagnostics;

namespace BendCare.Cache;

/// <summary>
/// The <see cref="IRbacCache"/> facade: the five cache types, their keys, TTLs and invalidation rules over the
/// generic cache-aside engine. Holds no Redis code: each member is one call into the typed path of its cache type,
/// except the two with rules of their own (a blacklisting's lifetime, a role edit reaching user contexts).
/// Obtain it from DI (<c>services.AddBendCareRedisCache()</c>).
/// </summary>
/// <remarks>
/// Public (with an internal constructor) because the API contract names it as the implementation of
/// <see cref="IRbacCache"/>: services may resolve or reference it by this type.
/// </remarks>
public sealed class RedisRbacCache : IRbacCache
{
    private readonly CacheAsideEngine _engine;
    private readonly BendCareCacheOptions _options;
    private readonly TimeProvider _time;
    private readonly CachePath<UserContext> _userContext;
    private readonly CachePath<RolePermissions> _rolePermissions;
    private readonly CachePath<UserBasicInfo> _userBasic;
    private readonly CachePath<bool> _tokenBlacklist;
    private readonly CachePath<JwtPayload> _jwtPayload;

    internal RedisRbacCache(CacheAsideEngine engine, RbacCacheTypes types, BendCareCacheOptions options, TimeProvider time)
    {
        _engine = engine;
        _options = options;
        _time = time;
        _userContext = new(engine, types.UserContext, "userId", "context", static c => c.UserId);
        _rolePermissions = new(engine, types.RolePermissions, "roleId", "permissions", static p => p.RoleId);
        _userBasic = new(engine, types.UserBasic, "userId", "user", static u => u.UserId);
        _tokenBlacklist = new(engine, types.TokenBlacklist, "tokenId", "tokenId", idOf: null);
        _jwtPayload = new(engine, types.JwtPayload, "tokenId", "payload", static p => p.TokenId);
        engine.UseLocalCache(types.UserContext);
        engine.UseLocalCache(types.RolePermissions);
        engine.UseLocalCache(types.UserBasic);
        engine.UseLocalCache(types.TokenBlacklist);
        engine.UseLocalCache(types.JwtPayload);
    }

    internal CacheAsideEngine Engine => _engine;

    // User context.

    /// <inheritdoc/>
    public ValueTask<UserContext?> GetUserContextAsync(string userId, Func<CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default) =>
        _userContext.GetAsync(userId, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<UserContext?> GetUserContextAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default) =>
        _userContext.GetAsync(userId, state, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask SetUserContextAsync(UserContext context, CancellationToken cancellationToken = default) =>
        _userContext.SetAsync(context, cancellationToken);

    /// <inheritdoc/>
    public ValueTask InvalidateUserContextAsync(string userId, CancellationToken cancellationToken = default) =>
        _userContext.InvalidateAsync(userId, cancellationToken);

    /// <inheritdoc/>
    public ValueTask InvalidateUserContextsAsync(IEnumerable<string> userIds, CancellationToken cancellationToken = default) =>
        _userContext.InvalidateManyAsync(userIds, nameof(userIds), cancellationToken);

    // Role permissions.

    /// <inheritdoc/>
    public ValueTask<RolePermissions?> GetRolePermissionsAsync(string roleId, Func<CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default) =>
        _rolePermissions.GetAsync(roleId, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<RolePermissions?> GetRolePermissionsAsync<TState>(string roleId, TState state, Func<TState, CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default) =>
        _rolePermissions.GetAsync(roleId, state, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask SetRolePermissionsAsync(RolePermissions permissions, CancellationToken cancellationToken = default) =>
        _rolePermissions.SetAsync(permissions, cancellationToken);

    /// <inheritdoc/>
    public ValueTask InvalidateRolePermissionsAsync(string roleId, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(roleId, nameof(roleId));

        // The role's own entry, and every cached user context holding the role (see docs/freshness.md, G2).
        return _engine.InvalidateWithGroupAsync(_rolePermissions.Type, roleId, _userContext.Type, cancellationToken);
    }

    // User basic info.

    /// <inheritdoc/>
    public ValueTask<UserBasicInfo?> GetUserBasicAsync(string userId, Func<CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default) =>
        _userBasic.GetAsync(userId, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<UserBasicInfo?> GetUserBasicAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default) =>
        _userBasic.GetAsync(userId, state, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask SetUserBasicAsync(UserBasicInfo user, CancellationToken cancellationToken = default) =>
        _userBasic.SetAsync(user, cancellationToken);

    /// <inheritdoc/>
    public ValueTask InvalidateUserBasicAsync(string userId, CancellationToken cancellationToken = default) =>
        _userBasic.InvalidateAsync(userId, cancellationToken);

    // Token blacklist.

    /// <inheritdoc/>
    public ValueTask<bool> IsTokenBlacklistedAsync(string tokenId, Func<CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default) =>
        _tokenBlacklist.GetAsync(tokenId, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<bool> IsTokenBlacklistedAsync<TState>(string tokenId, TState state, Func<TState, CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default) =>
        _tokenBlacklist.GetAsync(tokenId, state, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask BlacklistTokenAsync(string tokenId, DateTimeOffset? tokenExpiresAt, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(tokenId, nameof(tokenId));

        // Cover the token for as long as validation still accepts it (its expiry plus the clock skew JwtBearer allows),
        // capped by the option; the engine lengthens it to outlive every write-back it must beat, however soon the
        // token expires (see docs/freshness.md, G1 and G3).
        var lifetime = _options.TokenBlacklistedTtl;
        if (tokenExpiresAt is { } expiresAt && expiresAt + _options.TokenClockSkew - _time.GetUtcNow() is var accepted && accepted < lifetime)
        {
            lifetime = accepted;
        }

        // A blacklisted token's cached payload goes with it.
        return _engine.SetMustWinAsync(_tokenBlacklist.Type, tokenId, true, lifetime, TracedOperation.Blacklist, _jwtPayload.Type, cancellationToken);
    }

    // Decoded JWT payload.

    /// <inheritdoc/>
    public ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default) =>
        _jwtPayload.GetAsync(tokenId, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, string rawToken, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default) =>
        _jwtPayload.GetBoundAsync(tokenId, rawToken, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<JwtPayload?> GetJwtPayloadAsync<TState>(string tokenId, string rawToken, TState state, Func<TState, CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default) =>
        _jwtPayload.GetBoundAsync(tokenId, rawToken, state, loader, cancellationToken);

    /// <inheritdoc/>
    public ValueTask SetJwtPayloadAsync(JwtPayload payload, string rawToken, CancellationToken cancellationToken = default) =>
        _jwtPayload.SetBoundAsync(payload, rawToken, cancellationToken);

    /// <inheritdoc/>
    public ValueTask SetJwtPayloadAsync(JwtPayload payload, CancellationToken cancellationToken = default) =>
        _jwtPayload.SetAsync(payload, cancellationToken);

    /// <inheritdoc/>
    public ValueTask InvalidateJwtPayloadAsync(string tokenId, CancellationToken cancellationToken = default) =>
        _jwtPayload.InvalidateAsync(tokenId, cancellationToken);
}
