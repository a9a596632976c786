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

    // A role's permissions changed: every instance must stop serving the old ones, in the role and in the user
    // contexts that hold it (the library does both).
    private static readonly Edit RolePermissionsEdit = new(
        "role", "permissions", static (db, id, items, ct) => db.SetRolePermissionsAsync(id, items, ct), static (cache, id, ct) => cache.InvalidateRolePermissionsAsync(id, ct));

    private static readonly Edit UserRolesEdit = new(
        "user", "roles", static (db, id, items, ct) => db.SetUserRolesAsync(id, items, ct), static (cache, id, ct) => cache.InvalidateUserContextAsync(id, ct));

    public static void MapApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/login", LoginAsync);
        app.MapPost("/logout", LogoutAsync).RequireLiveToken();

        app.MapGet("/reports", (HttpContext http) => Resource(http, "reports", ["Monthly activity", "Outstanding referrals"])).RequirePermission("reports:read");
        app.MapGet("/patients", (HttpContext http) => Resource(http, "patients", ["Ada Lovelace", "Alan Turing"])).RequirePermission("patients:read");
        app.MapGet("/billing", (HttpContext http) => Resource(http, "billing", ["Invoice 1001", "Invoice 1002"])).RequirePermission("billing:read");

        app.MapGet("/me", MeAsync).RequireLiveToken();
        app.MapGet("/roles/{id}/permissions", RolePermissionsAsync).RequireLiveToken();

        app.MapPut("/roles/{id}/permissions", (string id, [FromBody] string?[]? permissions, IRbacCache cache, RbacDatabase database, CancellationToken cancellationToken) =>
            ApplyAsync(RolePermissionsEdit, id, permissions, cache, database, cancellationToken)).RequirePermission("admin:write");
        app.MapPut("/users/{id}/roles", (string id, [FromBody] string?[]? roleIds, IRbacCache cache, RbacDatabase database, CancellationToken cancellationToken) =>
            ApplyAsync(UserRolesEdit, id, roleIds, cache, database, cancellationToken)).RequirePermission("admin:write");
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

    private static async Task<IResult> RolePermissionsAsync(string id, IRbacCache cache, RbacDatabase database, CancellationToken cancellationToken)
    {
        if (!Ids.IsValid(id))
        {
            return Results.Problem($"The role id must be {Ids.Rule}.", statusCode: StatusCodes.Status400BadRequest);
        }

        var role = await cache.GetRolePermissionsAsync(id, (database, id), static (s, ct) => s.database.LoadRolePermissionsAsync(s.id, ct), cancellationToken);
        return role is null ? Results.Problem($"No role '{id}'.", statusCode: StatusCodes.Status404NotFound) : Results.Ok(role);
    }

    /// <summary>
    /// Replaces the list an edit is about, after checking it; commits; only then tells the cache, so no instance can
    /// load the old state from the database after the invalidation.
    /// </summary>
    private static async Task<IResult> ApplyAsync(Edit edit, string id, string?[]? items, IRbacCache cache, RbacDatabase database, CancellationToken cancellationToken)
    {
        if (Invalid(id, items, edit.What, edit.ItemsName) is { } problem)
        {
            return problem;
        }

        var result = await edit.Apply(database, id, Distinct(items!), cancellationToken);
        if (!result.Found)
        {
            return Results.Problem($"No {edit.What} '{id}'.", statusCode: StatusCodes.Status404NotFound);
        }

        if (result.Unknown.Count > 0)
        {
            return Results.Problem($"Unknown {edit.ItemsName}: {string.Join(", ", result.Unknown)}.", statusCode: StatusCodes.Status400BadRequest);
        }

        await edit.Invalidate(cache, id, cancellationToken);
        return Results.NoContent();
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
}

/// <summary>An admin edit as data: what it replaces (a role's permissions, a user's roles) and what it invalidates.</summary>
internal sealed record Edit(
    string What,
    string ItemsName,
    Func<RbacDatabase, string, IReadOnlyCollection<string>, CancellationToken, Task<EditResult>> Apply,
    Func<IRbacCache, string, CancellationToken, ValueTask> Invalidate);

internal sealed record LoginRequest(string? UserId);

internal sealed record LoginResponse(string Token, DateTimeOffset ExpiresAt);

internal sealed record ResourceResponse(string Resource, string UserId, IReadOnlyList<string> Items);

internal sealed record MeResponse(
    string UserId, string? Email, string? DisplayName, IReadOnlyList<string> Roles, IReadOnlyList<string> Permissions, IReadOnlyList<string> Organizations);
