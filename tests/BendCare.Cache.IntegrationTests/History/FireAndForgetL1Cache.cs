using System.Collections.Concurrent;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>
/// An in-process cache in front of the library as peers build theirs: values kept in memory after a read, dropped when
/// a backplane message arrives, and the message published fire-and-forget (no acknowledgement, no verification, no
/// install guard). Redis underneath is the library itself (L1 off), so every violation the checker finds here is the
/// in-memory layer's. The checker must catch it.
/// </summary>
public sealed class FireAndForgetL1Cache : IRbacCache, IAsyncDisposable
{
    private readonly IRbacCache _inner;
    private readonly IAsyncDisposable _innerOwner;
    private readonly IConnectionMultiplexer _bus;
    private readonly RedisChannel _channel;
    private readonly ConcurrentDictionary<string, object> _memory = new(StringComparer.Ordinal);

    private FireAndForgetL1Cache(IRbacCache inner, IAsyncDisposable innerOwner, IConnectionMultiplexer bus, RedisChannel channel)
    {
        _inner = inner;
        _innerOwner = innerOwner;
        _bus = bus;
        _channel = channel;
    }

    /// <summary>Wraps <paramref name="inner"/>, subscribed to a backplane channel of <paramref name="keyPrefix"/>.</summary>
    public static async Task<FireAndForgetL1Cache> CreateAsync(IRbacCache inner, IAsyncDisposable innerOwner, ConfigurationOptions config, string keyPrefix)
    {
        var bus = await ConnectionMultiplexer.ConnectAsync(config);
        var channel = RedisChannel.Literal(keyPrefix + "naive-backplane");
        var cache = new FireAndForgetL1Cache(inner, innerOwner, bus, channel);
        (await bus.GetSubscriber().SubscribeAsync(channel)).OnMessage(m => cache.Forget(m.Message!));
        return cache;
    }

    /// <inheritdoc />
    public ValueTask<UserContext?> GetUserContextAsync(string userId, Func<CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default) =>
        RememberAsync("user_context:" + userId, () => _inner.GetUserContextAsync(userId, loader, cancellationToken));

    /// <inheritdoc />
    public ValueTask<UserContext?> GetUserContextAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default) =>
        GetUserContextAsync(userId, ct => loader(state, ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask SetUserContextAsync(UserContext context, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public async ValueTask InvalidateUserContextAsync(string userId, CancellationToken cancellationToken = default)
    {
        await _inner.InvalidateUserContextAsync(userId, cancellationToken);
        Drop("user_context:" + userId);
    }

    /// <inheritdoc />
    public ValueTask InvalidateUserContextsAsync(IEnumerable<string> userIds, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public ValueTask<RolePermissions?> GetRolePermissionsAsync(string roleId, Func<CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default) =>
        RememberAsync("role_perms:" + roleId, () => _inner.GetRolePermissionsAsync(roleId, loader, cancellationToken));

    /// <inheritdoc />
    public ValueTask<RolePermissions?> GetRolePermissionsAsync<TState>(string roleId, TState state, Func<TState, CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default) =>
        GetRolePermissionsAsync(roleId, ct => loader(state, ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask SetRolePermissionsAsync(RolePermissions permissions, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public async ValueTask InvalidateRolePermissionsAsync(string roleId, CancellationToken cancellationToken = default)
    {
        await _inner.InvalidateRolePermissionsAsync(roleId, cancellationToken);
        Drop("role_perms:" + roleId);
        Drop("*user_context");
    }

    /// <inheritdoc />
    public ValueTask<UserBasicInfo?> GetUserBasicAsync(string userId, Func<CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default) =>
        RememberAsync("user_basic:" + userId, () => _inner.GetUserBasicAsync(userId, loader, cancellationToken));

    /// <inheritdoc />
    public ValueTask<UserBasicInfo?> GetUserBasicAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default) =>
        GetUserBasicAsync(userId, ct => loader(state, ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask SetUserBasicAsync(UserBasicInfo user, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public async ValueTask InvalidateUserBasicAsync(string userId, CancellationToken cancellationToken = default)
    {
        await _inner.InvalidateUserBasicAsync(userId, cancellationToken);
        Drop("user_basic:" + userId);
    }

    /// <inheritdoc />
    public ValueTask<bool> IsTokenBlacklistedAsync(string tokenId, Func<CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default) =>
        _inner.IsTokenBlacklistedAsync(tokenId, loader, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> IsTokenBlacklistedAsync<TState>(string tokenId, TState state, Func<TState, CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default) =>
        _inner.IsTokenBlacklistedAsync(tokenId, state, loader, cancellationToken);

    /// <inheritdoc />
    public ValueTask BlacklistTokenAsync(string tokenId, DateTimeOffset? tokenExpiresAt, CancellationToken cancellationToken = default) =>
        _inner.BlacklistTokenAsync(tokenId, tokenExpiresAt, cancellationToken);

    /// <inheritdoc />
    public ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default) =>
        _inner.GetJwtPayloadAsync(tokenId, loader, cancellationToken);

    /// <inheritdoc />
    public ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, string rawToken, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default) =>
        _inner.GetJwtPayloadAsync(tokenId, rawToken, loader, cancellationToken);

    /// <inheritdoc />
    public ValueTask<JwtPayload?> GetJwtPayloadAsync<TState>(string tokenId, string rawToken, TState state, Func<TState, CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default) =>
        _inner.GetJwtPayloadAsync(tokenId, rawToken, state, loader, cancellationToken);

    /// <inheritdoc />
    public ValueTask SetJwtPayloadAsync(JwtPayload payload, string rawToken, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public ValueTask SetJwtPayloadAsync(JwtPayload payload, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    /// <inheritdoc />
    public ValueTask InvalidateJwtPayloadAsync(string tokenId, CancellationToken cancellationToken = default) =>
        _inner.InvalidateJwtPayloadAsync(tokenId, cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _bus.DisposeAsync();
        await _innerOwner.DisposeAsync();
    }

    private async ValueTask<T?> RememberAsync<T>(string key, Func<ValueTask<T?>> read)
        where T : class
    {
        if (_memory.TryGetValue(key, out var cached))
        {
            return (T)cached;
        }

        var value = await read();
        if (value is not null)
        {
            _memory[key] = value;
        }

        return value;
    }

    private void Drop(string what)
    {
        Forget(what);
        _bus.GetSubscriber().Publish(_channel, what, CommandFlags.FireAndForget);
    }

    private void Forget(string what)
    {
        if (what.StartsWith('*'))
        {
            foreach (var key in _memory.Keys.Where(static k => k.StartsWith("user_context:", StringComparison.Ordinal)))
            {
                _memory.TryRemove(key, out _);
            }
        }
        else
        {
            _memory.TryRemove(what, out _);
        }
    }
}
