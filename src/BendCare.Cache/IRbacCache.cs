namespace BendCare.Cache;

/// <summary>
/// Cache-aside access to BendCare authorisation data in Redis/Valkey, with the database as the source of truth.
/// </summary>
/// <remarks>
/// <para>
/// Every getter takes a loader that reads the database. A hit returns the cached value without calling it;
/// a miss calls it once (concurrent misses for one key in one process share the call), returns its value and
/// writes it back in the background. When Redis/Valkey is unreachable, slow, refuses authentication or returns
/// garbage, getters return the loader's value and no exception from the cache ever reaches the caller;
/// exceptions thrown by the loader itself propagate unchanged.
/// </para>
/// <para>
/// After an invalidation, <see cref="BlacklistTokenAsync"/> or a <c>Set*</c> call returns (Redis reachable), no read on
/// any instance returns the earlier value. Invalidations issued while Redis is unreachable are remembered and
/// replayed when it is back, before this instance reads from Redis again.
/// </para>
/// <para>
/// Ids must be non-empty, not whitespace-only, free of control characters, line/paragraph separators and unpaired
/// surrogates, and at most 512 characters long; anything else throws <see cref="ArgumentException"/> naming the
/// parameter, before any I/O.
/// </para>
/// <para>
/// Members are grouped by cache type (user context, role permissions, user basic info, token blacklist, decoded JWT
/// payload), each getter beside its overload that passes state to a static loader. The <see cref="CancellationToken"/>
/// of a getter cancels the caller's wait, and the loader's token is cancelled once every caller sharing that load has
/// given up. The token of a setter, an invalidation or a blacklisting only ends the caller's wait: the database has
/// changed already, so the write is applied or remembered for replay whatever the token does.
/// </para>
/// </remarks>
public interface IRbacCache
{
    /// <summary>Gets a user's context (<c>user_context:{userId}</c>, 5 minutes), calling <paramref name="loader"/> on a miss.</summary>
    /// <param name="userId">The user's id.</param>
    /// <param name="loader">Reads the user's context from the database; a <see langword="null"/> result is returned and not cached.</param>
    /// <param name="cancellationToken">Cancels the wait; passed to <paramref name="loader"/>.</param>
    ValueTask<UserContext?> GetUserContextAsync(string userId, Func<CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="GetUserContextAsync(string, Func{CancellationToken, ValueTask{UserContext}}, CancellationToken)"/>
    /// with a loader that takes <paramref name="state"/>: a static lambda needs no closure, so a hit allocates nothing
    /// for the loader.
    /// </summary>
    ValueTask<UserContext?> GetUserContextAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserContext?>> loader, CancellationToken cancellationToken = default);

    /// <summary>Writes a user's context, replacing any cached one and winning over loads in flight.</summary>
    ValueTask SetUserContextAsync(UserContext context, CancellationToken cancellationToken = default);

    /// <summary>Invalidates a user's context on every instance, including loads in flight. Call after editing the user.</summary>
    ValueTask InvalidateUserContextAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Invalidates many users' contexts (the role-assignment edit flow): one single-key command per user,
    /// pipelined, safe on a cluster.
    /// </summary>
    ValueTask InvalidateUserContextsAsync(IEnumerable<string> userIds, CancellationToken cancellationToken = default);

    /// <summary>Gets a role's permissions (<c>role_perms:{roleId}</c>, 24 hours), calling <paramref name="loader"/> on a miss.</summary>
    ValueTask<RolePermissions?> GetRolePermissionsAsync(string roleId, Func<CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default);

    /// <summary>The role-permissions getter with a loader that takes <paramref name="state"/> (no closure needed).</summary>
    ValueTask<RolePermissions?> GetRolePermissionsAsync<TState>(string roleId, TState state, Func<TState, CancellationToken, ValueTask<RolePermissions?>> loader, CancellationToken cancellationToken = default);

    /// <summary>Writes a role's permissions, replacing any cached ones and winning over loads in flight.</summary>
    ValueTask SetRolePermissionsAsync(RolePermissions permissions, CancellationToken cancellationToken = default);

    /// <summary>
    /// Invalidates a role's permissions and every cached user context that holds the role, on every instance,
    /// including user contexts whose load is in flight. Call after editing the role.
    /// </summary>
    ValueTask InvalidateRolePermissionsAsync(string roleId, CancellationToken cancellationToken = default);

    /// <summary>Gets a user's basic info (<c>user_basic:{userId}</c>, 5 minutes), calling <paramref name="loader"/> on a miss.</summary>
    ValueTask<UserBasicInfo?> GetUserBasicAsync(string userId, Func<CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default);

    /// <summary>The user-basic-info getter with a loader that takes <paramref name="state"/> (no closure needed).</summary>
    ValueTask<UserBasicInfo?> GetUserBasicAsync<TState>(string userId, TState state, Func<TState, CancellationToken, ValueTask<UserBasicInfo?>> loader, CancellationToken cancellationToken = default);

    /// <summary>Writes a user's basic info, replacing any cached one and winning over loads in flight.</summary>
    ValueTask SetUserBasicAsync(UserBasicInfo user, CancellationToken cancellationToken = default);

    /// <summary>Invalidates a user's basic info on every instance, including loads in flight.</summary>
    ValueTask InvalidateUserBasicAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether a token is revoked (<c>token_bl:{tokenId}</c>): a cached <see langword="false"/> lives 1 minute,
    /// a cached <see langword="true"/> 1 hour (a blacklisting: see <see cref="BlacklistTokenAsync"/>). Calls <paramref name="loader"/> (the database's answer) on a miss.
    /// </summary>
    ValueTask<bool> IsTokenBlacklistedAsync(string tokenId, Func<CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default);

    /// <summary>The blacklist check with a loader that takes <paramref name="state"/> (no closure needed).</summary>
    ValueTask<bool> IsTokenBlacklistedAsync<TState>(string tokenId, TState state, Func<TState, CancellationToken, ValueTask<bool>> loader, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a revocation in the cache: from the moment this returns every instance answers <see langword="true"/>
    /// for the token until the entry expires — <paramref name="tokenExpiresAt"/> plus the clock skew token validation
    /// accepts (<see cref="BendCareCacheOptions.TokenClockSkew"/>, 5 minutes), at most 1 hour, and never less than
    /// 1.5 minutes (so no check in flight can re-cache "not blacklisted") — even over checks in flight. Also drops the token's cached JWT payload. Record the revocation in the database first:
    /// the cache is never the only record.
    /// </summary>
    ValueTask BlacklistTokenAsync(string tokenId, DateTimeOffset? tokenExpiresAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gets a token's decoded payload (<c>jwt_payload:{tokenId}</c>, 5 minutes, never past its expiry) by token id alone.
    /// </summary>
    /// <remarks>
    /// Token ids are not secret: a forged token can carry someone else's <c>jti</c>. Use this overload only when the
    /// caller verifies the token's signature on every request anyway; to skip that verification on a hit use
    /// the overload that takes the raw token.
    /// </remarks>
    ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gets a token's decoded payload, bound to the exact token it was decoded from: the entry holds a SHA-256
    /// fingerprint of <paramref name="rawToken"/>, compared in constant time on every hit. A token carrying the same
    /// <c>jti</c> but another signature or body is a miss (the loader runs, nothing is written back, a warning without
    /// the token is logged). This is the overload that makes it safe to skip signature verification on a hit.
    /// </summary>
    /// <param name="tokenId">The token's id (<c>jti</c>).</param>
    /// <param name="rawToken">The compact serialised token exactly as presented by the client.</param>
    /// <param name="loader">Verifies and decodes the token; a <see langword="null"/> result is returned and not cached.</param>
    /// <param name="cancellationToken">Cancels the wait; passed to <paramref name="loader"/>.</param>
    ValueTask<JwtPayload?> GetJwtPayloadAsync(string tokenId, string rawToken, Func<CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default);

    /// <summary>The raw-token-bound JWT payload getter with a loader that takes <paramref name="state"/> (no closure needed).</summary>
    ValueTask<JwtPayload?> GetJwtPayloadAsync<TState>(string tokenId, string rawToken, TState state, Func<TState, CancellationToken, ValueTask<JwtPayload?>> loader, CancellationToken cancellationToken = default);

    /// <summary>Writes a token's decoded payload bound to the exact token it was decoded from (see the raw-token getter).</summary>
    ValueTask SetJwtPayloadAsync(JwtPayload payload, string rawToken, CancellationToken cancellationToken = default);

    /// <summary>Writes a token's decoded payload (not cached when already expired).</summary>
    ValueTask SetJwtPayloadAsync(JwtPayload payload, CancellationToken cancellationToken = default);

    /// <summary>Invalidates a token's cached payload on every instance.</summary>
    ValueTask InvalidateJwtPayloadAsync(string tokenId, CancellationToken cancellationToken = default);
}
