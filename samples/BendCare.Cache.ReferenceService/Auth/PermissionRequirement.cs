using Microsoft.AspNetCore.Authorization;

namespace BendCare.Cache.ReferenceService.Auth;

/// <summary>
/// A live token (not revoked, issued by this service, for an existing active user) whose user holds
/// <see cref="Permission"/>; with no permission, only the live token.
/// </summary>
internal sealed class PermissionRequirement(string? permission) : IAuthorizationRequirement
{
    public string? Permission { get; } = permission;

    public override string ToString() => Permission is null ? "a live token" : $"a live token with permission {Permission}";
}

/// <summary>
/// Why a token was refused although its signature and lifetime are valid (revoked, unknown to this service, user
/// gone). Turned into a 401 challenge, not a 403, by <see cref="TokenRejectionResultHandler"/>.
/// </summary>
internal sealed class TokenRejected(IAuthorizationHandler handler, string message) : AuthorizationFailureReason(handler, message)
{
    /// <summary>The authentication property carrying the reason to the challenge.</summary>
    public const string PropertyKey = "bendcare.token_rejected";
}
