using System.Text.Json;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>
/// A plain cache-aside over StackExchange.Redis, as written by hand: GET, on a miss call the loader and SET with the
/// TTL, invalidate with DEL (a role invalidation also DELs the contexts listed in a plain per-role set). No guard
/// against a slow load writing back after an invalidation, so the history checker must catch it. Only the members the
/// checker calls are implemented.
/// </summary>
public sealed class NaiveRbacCache(IDatabase db, string keyPrefix, HistoryTtls ttls) : IRbacCache
{
    /// <inheritdoc />
    public async ValueTask<UserContext?> GetUserContextAsync(string userId, Func<CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default)
    {
        var value = await GetOrLoadAsync("user_context:" + userId, loader, ttls.UserContext, cancellationToken);
        if (value is not null)
        {
            foreach (string role in value.RoleIds)
            {
                await db.SetAddAsync(keyPrefix + "naive_role_users:" + role, userId);
            }
        }

        return value;
    }

    /// <inheritdoc />
    public ValueTask<UserContext?> GetUserContextAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default) =>
        GetUserContextAsync(userId, ct => loader(state, ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask SetUserContextAsync(UserContext context, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public async ValueTask InvalidateUserContextAsync(string userId, CancellationToken cancellationToken = default) =>
        await db.KeyDeleteAsync(keyPrefix + "user_context:" + userId);

    /// <inheritdoc />
    public ValueTask InvalidateUserContextsAsync(IEnumerable<string> userIds, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public ValueTask<RolePermissions?> GetRolePermissionsAsync(string roleId, Func<CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default) =>
        GetOrLoadAsync("role_perms:" + roleId, loader, ttls.RolePermissions, cancellationToken);

    /// <inheritdoc />
    public ValueTask<RolePermissions?> GetRolePermissionsAsync<TState>(string roleId, TState state, Func<TState, CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default) =>
        GetRolePermissionsAsync(roleId, ct => loader(state, ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask SetRolePermissionsAsync(RolePermissions permissions, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public async ValueTask InvalidateRolePermissionsAsync(string roleId, CancellationToken cancellationToken = default)
    {
        await db.KeyDeleteAsync(keyPrefix + "role_perms:" + roleId);
        foreach (var user in await db.SetMembersAsync(keyPrefix + "naive_role_users:" + roleId))
        {
            await db.KeyDeleteAsync(keyPrefix + "user_context:" + user);
        }
    }

    /// <inheritdoc />
    public ValueTask<UserBasicInfo?> GetUserBasicAsync(string userId, Func<CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default) =>
        GetOrLoadAsync("user_basic:" + userId, loader, ttls.UserBasic, cancellationToken);

    /// <inheritdoc />
    public ValueTask<UserBasicInfo?> GetUserBasicAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default) =>
        GetUserBasicAsync(userId, ct => loader(state, ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask SetUserBasicAsync(UserBasicInfo user, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public async ValueTask InvalidateUserBasicAsync(string userId, CancellationToken cancellationToken = default) =>
        await db.KeyDeleteAsync(keyPrefix + "user_basic:" + userId);

    /// <inheritdoc />
    public async ValueTask<bool> IsTokenBlacklistedAsync(string tokenId, Func<CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default)
    {
        string key = keyPrefix + "token_bl:" + tokenId;
        var cached = await db.StringGetAsync(key);
        if (cached.HasValue)
        {
            return cached == "1";
        }

        bool value = await loader(cancellationToken);
        await db.StringSetAsync(key, value ? "1" : "0", value ? ttls.TokenBlacklisted : ttls.TokenNotBlacklisted);
        return value;
    }

    /// <inheritdoc />
    public ValueTask<bool> IsTokenBlacklistedAsync<TState>(string tokenId, TState state, Func<TState, CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default) =>
        IsTokenBlacklistedAsync(tokenId, ct => loader(state, ct), cancellationToken);

    /// <inheritdoc />
    public async ValueTask BlacklistTokenAsync(string tokenId, DateTimeOffset? tokenExpiresAt, CancellationToken cancellationToken = default)
    {
        await db.StringSetAsync(keyPrefix + "token_bl:" + tokenId, "1", ttls.TokenBlacklisted);
        await db.KeyDeleteAsync(keyPrefix + "jwt_payload:" + tokenId);
    }

    /// <inheritdoc />
    public ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default) =>
        GetOrLoadAsync("jwt_payload:" + tokenId, loader, ttls.JwtPayload, cancellationToken);

    /// <inheritdoc />
    public ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, string rawToken, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default) =>
        GetJwtPayloadAsync(tokenId, loader, cancellationToken);

    /// <inheritdoc />
    public ValueTask<JwtPayload?> GetJwtPayloadAsync<TState>(string tokenId, string rawToken, TState state, Func<TState, CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default) =>
        GetJwtPayloadAsync(tokenId, ct => loader(state, ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask SetJwtPayloadAsync(JwtPayload payload, string rawToken, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public ValueTask SetJwtPayloadAsync(JwtPayload payload, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public async ValueTask InvalidateJwtPayloadAsync(string tokenId, CancellationToken cancellationToken = default) =>
        await db.KeyDeleteAsync(keyPrefix + "jwt_payload:" + tokenId);

    private async ValueTask<T?> GetOrLoadAsync<T>(string name, Func<CancellationToken, ValueTask<T?>> loader, TimeSpan ttl, CancellationToken cancellationToken)
        where T : class
    {
        var cached = await db.StringGetAsync(keyPrefix + name);
        if (cached.HasValue)
        {
            return JsonSerializer.Deserialize<T>((byte[])cached!);
        }

        var value = await loader(cancellationToken);
        if (value is not null)
        {
            await db.StringSetAsync(keyPrefix + name, JsonSerializer.SerializeToUtf8Bytes(value), ttl);
        }

        return value;
    }
}
