using BendCare.Cache.ReferenceService.Auth;
using BendCare.Cache.ReferenceService.Database;
using Microsoft.AspNetCore.Mvc;

namespace BendCare.Cache.ReferenceService.Endpoints;

/// <summary>
/// The service's API: log in and out, three protected resources, who am I, and the admin edits. Each edit commits
/// its database transaction before it tells the cache, so no instance can re-cache the old state from the database.
/// </summary>
internal static class ApiEndpoints
{
    /// <summary>The most ids one edit accepts.</summary>
    public const int MaxItemsPerEdit = 100;

    public static void MapApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/login", LoginAsync);
        app.MapPost("/logout", LogoutAsync).RequireLiveToken();

        app.MapGet("/reports", (HttpContext http) => Resource(http, "reports", ["Monthly activity", "Outstanding referrals"])).RequirePermission("reports:read");
        app.MapGet("/patients", (HttpContext http) => Resource(http, "patients", ["Ada Lovelace", "Alan Turing"])).RequirePermission("patients:read");
        app.MapGet("/billing", (HttpContext http) => Resource(http, "billing", ["Invoice 1001", "Invoice 1002"])).RequirePermission("billing:read");

        app.MapGet("/me", MeAsync).RequireLiveToken();
        app.MapGet("/roles/{roleId}/permissions", RolePermissionsAsync).RequireLiveToken();

        app.MapPut("/roles/{roleId}/permissions", SetRolePermissionsAsync).RequirePermission("admin:write");
        app.MapPut("/users/{userId}/roles", SetUserRolesAsync).RequirePermission("admin:write");
    }

    private static async Task<IResult> LoginAsync(LoginRequest body, IRbacCache cache, RbacDatabase database, TokenIssuer issuer, CancellationToken cancellationToken)
    {
        if (!Ids.IsValid(body.UserId))
        {
            return Results.Problem($"userId must be {Ids.Rule}.", statusCode: StatusCodes.Status400BadRequest);
        }

        var user = await cache.GetUserBasicAsync(body.UserId, (database, body.UserId), static (s, ct) => s.database.LoadUserBasicAsync(s.UserId, ct), cancellationToken);
        if (user is not { IsActive: true })
        {
            return Results.Problem("Unknown or inactive user.", statusCode: StatusCodes.Status401Unauthorized);
        }

        var (token, expiresAt) = await issuer.IssueAsync(user.UserId, cancellationToken);
        return Results.Ok(new LoginResponse(token, expiresAt));
    }

    private static async Task<IResult> LogoutAsync(HttpContext http, IRbacCache cache, RbacDatabase database, CancellationToken cancellationToken)
    {
        var token = AuthorizedRequest.Of(http).Token;
        await database.RevokeTokenAsync(token.TokenId, token.ExpiresAt, cancellationToken);
        await cache.BlacklistTokenAsync(token.TokenId, token.ExpiresAt, cancellationToken);
        return Results.NoContent();
    }

    private static IResult Resource(HttpContext http, string name, string[] items) =>
        Results.Ok(new ResourceResponse(name, AuthorizedRequest.Of(http).User.UserId, items));

    private static async Task<IResult> MeAsync(HttpContext http, IRbacCache cache, RbacDatabase database, CancellationToken cancellationToken)
    {
        var user = AuthorizedRequest.Of(http).User;
        var basic = await cache.GetUserBasicAsync(user.UserId, (database, user.UserId), static (s, ct) => s.database.LoadUserBasicAsync(s.UserId, ct), cancellationToken);
        return Results.Ok(new MeResponse(user.UserId, basic?.Email, basic?.DisplayName, user.RoleIds, user.Permissions, user.OrganizationIds));
    }

    private static async Task<IResult> RolePermissionsAsync(string roleId, IRbacCache cache, RbacDatabase database, CancellationToken cancellationToken)
    {
        if (!Ids.IsValid(roleId))
        {
            return Results.Problem($"The role id must be {Ids.Rule}.", statusCode: StatusCodes.Status400BadRequest);
        }

        var role = await cache.GetRolePermissionsAsync(roleId, (database, roleId), static (s, ct) => s.database.LoadRolePermissionsAsync(s.roleId, ct), cancellationToken);
        return role is null ? Results.Problem($"No role '{roleId}'.", statusCode: StatusCodes.Status404NotFound) : Results.Ok(role);
    }

    private static async Task<IResult> SetRolePermissionsAsync(string roleId, [FromBody] string?[]? permissions, IRbacCache cache, RbacDatabase database, CancellationToken cancellationToken)
    {
        if (Invalid(roleId, permissions, "role", "permissions") is { } problem)
        {
            return problem;
        }

        var result = await database.SetRolePermissionsAsync(roleId, Distinct(permissions!), cancellationToken);
        if (result.IsApplied)
        {
            // Committed: now every instance must stop serving the old permissions, in the role and in the user
            // contexts that hold it.
            await cache.InvalidateRolePermissionsAsync(roleId, cancellationToken);
        }

        return Outcome(result, $"No role '{roleId}'.", "Unknown permissions");
    }

    private static async Task<IResult> SetUserRolesAsync(string userId, [FromBody] string?[]? roleIds, IRbacCache cache, RbacDatabase database, CancellationToken cancellationToken)
    {
        if (Invalid(userId, roleIds, "user", "role ids") is { } problem)
        {
            return problem;
        }

        var result = await database.SetUserRolesAsync(userId, Distinct(roleIds!), cancellationToken);
        if (result.IsApplied)
        {
            await cache.InvalidateUserContextAsync(userId, cancellationToken);
        }

        return Outcome(result, $"No user '{userId}'.", "Unknown roles");
    }

    private static IResult? Invalid(string id, string?[]? items, string what, string itemsName)
    {
        if (!Ids.IsValid(id))
        {
            return Results.Problem($"The {what} id must be {Ids.Rule}.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (items is null)
        {
            return Results.Problem($"The body must be a JSON array of {itemsName}.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (items.Length > MaxItemsPerEdit)
        {
            return Results.Problem($"At most {MaxItemsPerEdit} {itemsName} per edit; got {items.Length}.", statusCode: StatusCodes.Status400BadRequest);
        }

        foreach (string? item in items)
        {
            if (!Ids.IsValid(item))
            {
                string got = item is null ? "null" : $"'{item}'";
                return Results.Problem($"Each of the {itemsName} must be {Ids.Rule}; got {got}.", statusCode: StatusCodes.Status400BadRequest);
            }
        }

        return null;
    }

    // Called after Invalid returned null: no item is null.
    private static string[] Distinct(string?[] items) => [.. items.OfType<string>().Distinct(StringComparer.Ordinal)];

    private static IResult Outcome(EditResult result, string notFound, string unknown) =>
        !result.Found ? Results.Problem(notFound, statusCode: StatusCodes.Status404NotFound)
        : result.Unknown.Count > 0 ? Results.Problem($"{unknown}: {string.Join(", ", result.Unknown)}.", statusCode: StatusCodes.Status400BadRequest)
        : Results.NoContent();
}

internal sealed record LoginRequest(string? UserId);

internal sealed record LoginResponse(string Token, DateTimeOffset ExpiresAt);

internal sealed record ResourceResponse(string Resource, string UserId, IReadOnlyList<string> Items);

internal sealed record MeResponse(
    string UserId, string? Email, string? DisplayName, IReadOnlyList<string> Roles, IReadOnlyList<string> Permissions, IReadOnlyList<string> Organizations);
