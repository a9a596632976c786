namespace BendCare.Cache;

/// <summary>
/// The decoded payload of a JWT. Cached under <c>{KeyPrefix}jwt_payload:{TokenId}</c> for
/// <see cref="BendCareCacheOptions.JwtPayloadTtl"/> (5 minutes by default) and never past
/// <see cref="ExpiresAt"/>; a payload that has already expired is not cached.
/// </summary>
public sealed record JwtPayload
{
    /// <summary>The token's id (the <c>jti</c> claim); also the cache key's id.</summary>
    public required string TokenId { get; init; }

    /// <summary>The token's subject (the <c>sub</c> claim).</summary>
    public required string Subject { get; init; }

    /// <summary>When the token expires (the <c>exp</c> claim).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The token's other claims.</summary>
    public required IReadOnlyDictionary<string, string> Claims { get; init; }
}
