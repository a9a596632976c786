using BendCare.Cache.CacheAside;
using BendCare.Cache.Serialization;

namespace BendCare.Cache;

/// <summary>
/// The <see cref="IRbacCache"/> facade: the five cache types, their keys, TTLs and invalidation rules over the
/// generic cache-aside engine. Holds no Redis code. Obtain it from DI (<c>services.AddBendCareRedisCache()</c>).
/// </summary>
public sealed class RedisRbacCache : IRbacCache
{
    private readonly CacheAsideEngine _engine;
    private readonly RbacCacheTypes _entries;
    private readonly BendCareCacheOptions _options;
    private readonly TimeProvider _time;

    internal RedisRbacCache(CacheAsideEngine engine, RbacCacheTypes entries, BendCareCacheOptions options, TimeProvider time)
    {
        _engine = engine;
        _entries = entries;
        _options = options;
        _time = time;
    }

    internal CacheAsideEngine Engine => _engine;

    /// <inheritdoc/>
    public ValueTask<UserContext?> GetUserContextAsync(string userId, Func<CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(userId, nameof(userId));
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.UserContext, userId, null, loader, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask SetUserContextAsync(UserContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        IdValidator.Validate(context.UserId, nameof(context));
        return _engine.SetAsync(_entries.UserContext, context.UserId, context, null, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask InvalidateUserContextAsync(string userId, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(userId, nameof(userId));
        return _engine.InvalidateAsync(_entries.UserContext, userId, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask InvalidateUserContextsAsync(IEnumerable<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        var ids = userIds.ToArray();
        foreach (string id in ids)
        {
            IdValidator.Validate(id, nameof(userIds));
        }

        return _engine.InvalidateManyAsync(_entries.UserContext, ids, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<RolePermissions?> GetRolePermissionsAsync(string roleId, Func<CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(roleId, nameof(roleId));
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.RolePermissions, roleId, null, loader, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask SetRolePermissionsAsync(RolePermissions permissions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(permissions);
        IdValidator.Validate(permissions.RoleId, nameof(permissions));
        return _engine.SetAsync(_entries.RolePermissions, permissions.RoleId, permissions, null, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask InvalidateRolePermissionsAsync(string roleId, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(roleId, nameof(roleId));
        var role = _engine.InvalidateAsync(_entries.RolePermissions, roleId, cancellationToken);
        var users = _engine.InvalidateGroupAsync(_entries.UserContext, roleId, roleId, cancellationToken);
        await role.ConfigureAwait(false);
        await users.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask<UserBasicInfo?> GetUserBasicAsync(string userId, Func<CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(userId, nameof(userId));
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.UserBasic, userId, null, loader, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask SetUserBasicAsync(UserBasicInfo user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        IdValidator.Validate(user.UserId, nameof(user));
        return _engine.SetAsync(_entries.UserBasic, user.UserId, user, null, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask InvalidateUserBasicAsync(string userId, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(userId, nameof(userId));
        return _engine.InvalidateAsync(_entries.UserBasic, userId, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<bool> IsTokenBlacklistedAsync(string tokenId, Func<CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(tokenId, nameof(tokenId));
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.TokenBlacklist, tokenId, null, loader, cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask BlacklistTokenAsync(string tokenId, DateTimeOffset? tokenExpiresAt, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(tokenId, nameof(tokenId));

        // Cover the token for as long as validation still accepts it (its expiry plus the clock skew JwtBearer allows),
        // capped by the option; the engine lengthens it to outlive every write-back it must beat, however soon the
        // token expires (see docs/freshness.md).
        var lifetime = _options.TokenBlacklistedTtl;
        if (tokenExpiresAt is { } expiresAt && expiresAt + _options.TokenClockSkew - _time.GetUtcNow() is var accepted && accepted < lifetime)
        {
            lifetime = accepted;
        }

        var blacklist = _engine.SetMustWinAsync(_entries.TokenBlacklist, tokenId, true, lifetime, cancellationToken);
        var payload = _engine.InvalidateAsync(_entries.JwtPayload, tokenId, cancellationToken);
        await blacklist.ConfigureAwait(false);
        await payload.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(tokenId, nameof(tokenId));
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.JwtPayload, tokenId, null, loader, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, string rawToken, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(tokenId, nameof(tokenId));
        ArgumentException.ThrowIfNullOrEmpty(rawToken);
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.JwtPayload, tokenId, Envelope.Fingerprint(rawToken), loader, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask SetJwtPayloadAsync(JwtPayload payload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        IdValidator.Validate(payload.TokenId, nameof(payload));
        return _engine.SetAsync(_entries.JwtPayload, payload.TokenId, payload, null, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask SetJwtPayloadAsync(JwtPayload payload, string rawToken, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        IdValidator.Validate(payload.TokenId, nameof(payload));
        ArgumentException.ThrowIfNullOrEmpty(rawToken);
        return _engine.SetAsync(_entries.JwtPayload, payload.TokenId, payload, Envelope.Fingerprint(rawToken), cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask InvalidateJwtPayloadAsync(string tokenId, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(tokenId, nameof(tokenId));
        return _engine.InvalidateAsync(_entries.JwtPayload, tokenId, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<UserContext?> GetUserContextAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(userId, nameof(userId));
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.UserContext, userId, null, state, loader, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<RolePermissions?> GetRolePermissionsAsync<TState>(string roleId, TState state, Func<TState, CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(roleId, nameof(roleId));
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.RolePermissions, roleId, null, state, loader, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<UserBasicInfo?> GetUserBasicAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(userId, nameof(userId));
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.UserBasic, userId, null, state, loader, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<bool> IsTokenBlacklistedAsync<TState>(string tokenId, TState state, Func<TState, CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(tokenId, nameof(tokenId));
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.TokenBlacklist, tokenId, null, state, loader, cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<JwtPayload?> GetJwtPayloadAsync<TState>(string tokenId, string rawToken, TState state, Func<TState, CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default)
    {
        IdValidator.Validate(tokenId, nameof(tokenId));
        ArgumentException.ThrowIfNullOrEmpty(rawToken);
        ArgumentNullException.ThrowIfNull(loader);
        return _engine.GetOrLoadAsync(_entries.JwtPayload, tokenId, Envelope.Fingerprint(rawToken), state, loader, cancellationToken);
    }
}
