using System.Collections.Concurrent;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.DataProtection;

namespace BendCare.Cache.ReferenceService.Auth;

/// <summary>Bearer authentication, the permission policies and their handler.</summary>
internal static class AuthorizationExtensions
{
    private static readonly ConcurrentDictionary<string, AuthorizationPolicy> Policies = new(StringComparer.Ordinal);
    private static readonly AuthorizationPolicy LiveTokenPolicy = Build(null);

    /// <summary>Requires a live token whose user holds <paramref name="permission"/> (e.g. <c>reports:read</c>).</summary>
    public static TBuilder RequirePermission<TBuilder>(this TBuilder builder, string permission)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(permission);
        return builder.RequireAuthorization(Policies.GetOrAdd(permission, Build));
    }

    /// <summary>Requires a live token: signed, not expired, not revoked, issued by this service, for an existing user.</summary>
    public static TBuilder RequireLiveToken<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(LiveTokenPolicy);

    public static IServiceCollection AddBearerTokens(this IServiceCollection services, TokenSettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton<TokenIssuer>();
        services.AddSingleton<IAuthorizationHandler, PermissionHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, TokenRejectionResultHandler>();
        services.AddAuthorization();
        // Bearer tokens need no data protection; in-memory keys keep the service from writing a key ring to disk.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
        {
            options.MapInboundClaims = false; // keep "sub" and "jti" as they are in the token
            options.SaveToken = true;         // the raw token, which the cached payload is bound to
            options.TokenValidationParameters = settings.ValidationParameters();
            options.Events = new JwtBearerEvents { OnChallenge = TokenRejectionResultHandler.DescribeRejection };
        });
        return services;
    }

    private static AuthorizationPolicy Build(string? permission) =>
        new AuthorizationPolicyBuilder(JwtBearerDefaults.AuthenticationScheme)
            .RequireAuthenticatedUser()
            .AddRequirements(new PermissionRequirement(permission))
            .Build();
}
