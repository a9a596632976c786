using BendCare.Cache.ReferenceService.Database;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;

namespace BendCare.Cache.ReferenceService.Auth;

/// <summary>
/// Checks a <see cref="PermissionRequirement"/> through <see cref="IRbacCache"/>, with the database behind it: is the
/// token revoked, what does this service know of it (bound to the exact raw token), who is its user. A revoked or
/// unknown token fails with <see cref="TokenRejected"/> (401); a missing permission fails plainly (403).
/// </summary>
internal sealed class PermissionHandler(IRbacCache cache, RbacDatabase database) : AuthorizationHandler<PermissionRequirement>
{
    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, PermissionRequirement requirement)
    {
        if (context.Resource is not HttpContext http)
        {
            context.Fail(new AuthorizationFailureReason(this, "The permission check needs the HTTP request."));
            return;
        }

        string? tokenId = context.User.FindFirst("jti")?.Value;
        string? userId = context.User.FindFirst("sub")?.Value;
        // Saved by JwtBearer (SaveToken); its authentication result is cached for the request, so this costs no second validation.
        string? rawToken = await http.GetTokenAsync(JwtBearerDefaults.AuthenticationScheme, "access_token");
        if (!Ids.IsValid(tokenId) || !Ids.IsValid(userId) || string.IsNullOrEmpty(rawToken))
        {
            context.Fail(new TokenRejected(this, "The token has no usable jti or sub claim."));
            return;
        }

        var cancellationToken = http.RequestAborted;
        var state = (database, tokenId, userId);

        // Started together, awaited after: on a hit the three GETs leave on one connection back to back, so the
        // request pays one Redis round trip instead of three.
        var revokedRead = cache.IsTokenBlacklistedAsync(tokenId, state, static (s, ct) => s.database.IsTokenRevokedAsync(s.tokenId, ct), cancellationToken);
        var payloadRead = cache.GetJwtPayloadAsync(tokenId, rawToken, state, static (s, ct) => s.database.LoadTokenPayloadAsync(s.tokenId, ct), cancellationToken);
        var userRead = cache.GetUserContextAsync(userId, state, static (s, ct) => s.database.LoadUserContextAsync(s.userId, ct), cancellationToken);
        bool revoked = await revokedRead;
        var payload = await payloadRead;
        var user = await userRead;

        if (revoked)
        {
            context.Fail(new TokenRejected(this, "The token has been revoked."));
        }
        else if (payload is null || payload.Subject != userId)
        {
            context.Fail(new TokenRejected(this, "The token was not issued by this service."));
        }
        else if (user is null)
        {
            context.Fail(new TokenRejected(this, "The token's user does not exist or is inactive."));
        }
        else if (requirement.Permission is { } permission && !user.Permissions.Contains(permission, StringComparer.Ordinal))
        {
            context.Fail(new AuthorizationFailureReason(this, $"The user lacks the permission {permission}."));
        }
        else
        {
            new AuthorizedRequest(payload, user).AttachTo(http);
            context.Succeed(requirement);
        }
    }
}
