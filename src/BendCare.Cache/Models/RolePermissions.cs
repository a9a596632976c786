namespace BendCare.Cache;

/// <summary>
/// The permissions one role grants. Cached under <c>{KeyPrefix}role_perms:{RoleId}</c> for
/// <see cref="BendCareCacheOptions.RolePermissionsTtl"/> (24 hours by default).
/// </summary>
public sealed record RolePermissions
{
    /// <summary>The role's id; also the cache key's id.</summary>
    public required string RoleId { get; init; }

    /// <summary>The permissions the role grants.</summary>
    public required IReadOnlyList<string> Permissions { get; init; }
}
