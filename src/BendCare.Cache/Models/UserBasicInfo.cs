namespace BendCare.Cache;

/// <summary>
/// A user's basic profile. Cached under <c>{KeyPrefix}user_basic:{UserId}</c> for
/// <see cref="BendCareCacheOptions.UserBasicTtl"/> (5 minutes by default).
/// </summary>
public sealed record UserBasicInfo
{
    /// <summary>The user's id; also the cache key's id.</summary>
    public required string UserId { get; init; }

    /// <summary>The user's e-mail address.</summary>
    public required string Email { get; init; }

    /// <summary>The name shown for the user, when there is one.</summary>
    public string? DisplayName { get; init; }

    /// <summary>Whether the account is active.</summary>
    public required bool IsActive { get; init; }
}
