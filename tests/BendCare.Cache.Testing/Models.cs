namespace BendCare.Cache.Testing;

/// <summary>Values of the five cache types, versioned so a test can tell one load from another.</summary>
public static class Models
{
    /// <summary>A fixed expiry an hour after the test run started, so the same token makes equal payloads.</summary>
    private static readonly DateTimeOffset RunExpiry = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600);

    public static UserContext UserContext(string userId, string version = "v1", params string[] roles) => new()
    {
        UserId = userId,
        RoleIds = roles.Length == 0 ? ["r-reader"] : roles,
        Permissions = [$"perm:{version}"],
        OrganizationIds = ["org-1"],
    };

    public static RolePermissions RolePermissions(string roleId, string version = "v1") => new()
    {
        RoleId = roleId,
        Permissions = [$"perm:{version}", "read"],
    };

    public static UserBasicInfo UserBasic(string userId, string version = "v1") => new()
    {
        UserId = userId,
        Email = $"{userId}@example.test",
        DisplayName = version,
        IsActive = true,
    };

    public static JwtPayload JwtPayload(string tokenId, string version = "v1", TimeSpan? lifetime = null) => new()
    {
        TokenId = tokenId,
        Subject = $"user-{version}",
        ExpiresAt = lifetime is { } l ? DateTimeOffset.UtcNow + l : RunExpiry,
        Claims = new Dictionary<string, string> { ["ver"] = version },
    };
}
