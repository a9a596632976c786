namespace BendCare.Cache.ReferenceService.Auth;

/// <summary>What the permission check established for this request: the token's record and its user's context.</summary>
internal sealed record AuthorizedRequest(JwtPayload Token, UserContext User)
{
    private static readonly object Key = new();

    /// <summary>The request's record; only on endpoints behind <c>RequirePermission</c> or <c>RequireLiveToken</c>.</summary>
    public static AuthorizedRequest Of(HttpContext context) =>
        context.Items[Key] as AuthorizedRequest ?? throw new InvalidOperationException("The endpoint does not require a live token.");

    public void AttachTo(HttpContext context) => context.Items[Key] = this;
}
