using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace BendCare.Cache.ReferenceService.Auth;

/// <summary>
/// A token refused by the permission check (<see cref="TokenRejected"/>: revoked, unknown, user gone) is an
/// authentication failure: challenge (401 with <c>WWW-Authenticate: Bearer error="invalid_token"</c>), not forbid.
/// </summary>
internal sealed class TokenRejectionResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden && authorizeResult.AuthorizationFailure?.FailureReasons.OfType<TokenRejected>().FirstOrDefault() is { } rejected)
        {
            var properties = new AuthenticationProperties();
            properties.Items[TokenRejected.PropertyKey] = rejected.Message;
            return context.ChallengeAsync(JwtBearerDefaults.AuthenticationScheme, properties);
        }

        return _default.HandleAsync(next, context, policy, authorizeResult);
    }

    /// <summary>The <see cref="JwtBearerEvents.OnChallenge"/> that puts the rejection's reason into the header.</summary>
    public static Task DescribeRejection(JwtBearerChallengeContext context)
    {
        if (context.Properties.Items.TryGetValue(TokenRejected.PropertyKey, out string? reason))
        {
            context.Error = "invalid_token";
            context.ErrorDescription = reason;
        }

        return Task.CompletedTask;
    }
}
