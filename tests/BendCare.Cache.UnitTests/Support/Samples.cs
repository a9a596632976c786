namespace BendCare.Cache.UnitTests.Support;

internal static class Samples
{
    public static UserContext UserContext(string userId = "user-1") => new()
    {
        UserId = userId,
        RoleIds = ["role-1", "role-2"],
        Permissions = ["patients:read", "patients:write"],
        OrganizationIds = ["org-1"],
    };

    public static RolePermissions RolePermissions(string roleId = "role-1") => new()
    {
        RoleId = roleId,
        Permissions = ["patients:read"],
    };

    public static UserBasicInfo UserBasic(string userId = "user-1") => new()
    {
        UserId = userId,
        Email = "someone@example.org",
        DisplayName = "Someone",
        IsActive = true,
    };

    public static JwtPayload JwtPayload(string tokenId = "token-1", DateTimeOffset? expiresAt = null) => new()
    {
        TokenId = tokenId,
        Subject = "user-1",
        ExpiresAt = expiresAt ?? DateTimeOffset.UtcNow.AddHours(1),
        Claims = new Dictionary<string, string> { ["scope"] = "api" },
    };
}
