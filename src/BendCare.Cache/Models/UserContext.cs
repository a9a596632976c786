namespace BendCare.Cache;

/// <summary>
/// What a request needs to authorise a user: the roles the user holds, the permissions they grant and
/// the organisations the user belongs to. Cached under <c>{KeyPrefix}user_context:{UserId}</c> for
/// <see cref="BendCareCacheOptions.UserContextTtl"/> (5 minutes by default).
/// </summary>
public sealed record UserContext
{
    /// <summary>The user's id; also the cache key's id.</summary>
    public required string UserId { get; init; }

    /// <summary>The ids of the roles the user holds. Editing one of these roles invalidates this entry.</summary>
    public required IReadOnlyList<string> RoleIds { get; init; }

    /// <summary>The effective permissions granted by <see cref="RoleIds"/>.</summary>
    public required IReadOnlyList<string> Permissions { get; init; }

    /// <summary>The organisations the user belongs to.</summary>
    public required IReadOnlyList<string> OrganizationIds { get; init; }
}
