using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace BendCare.Cache.ReferenceService.Auth;

/// <summary>
/// How tokens are signed and checked, from the <c>Jwt</c> configuration section (<c>SigningKey</c>, <c>Issuer</c>,
/// <c>Audience</c>, <c>Lifetime</c>, default 1 hour). Every instance of one deployment needs the same key; the default
/// is a development key, never to be used anywhere else.
/// </summary>
internal sealed class TokenSettings
{
    public const string SectionName = "Jwt";

    /// <summary>A development key: instances started without configuration accept each other's tokens.</summary>
    public const string DevelopmentSigningKey = "bendcare-reference-service-development-signing-key-not-for-production";

    /// <summary>The default issuer and audience.</summary>
    public const string ServiceName = "bendcare-reference-service";

    public required string Issuer { get; init; }

    public required string Audience { get; init; }

    public required TimeSpan Lifetime { get; init; }

    public required SymmetricSecurityKey SigningKey { get; init; }

    public static TokenSettings From(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        string key = section["SigningKey"] is { Length: > 0 } configured ? configured : DevelopmentSigningKey;
        if (Encoding.UTF8.GetByteCount(key) < 32)
        {
            throw new InvalidOperationException($"{SectionName}:SigningKey must be at least 32 bytes long (HMAC-SHA256).");
        }

        var lifetime = section.GetValue(nameof(Lifetime), TimeSpan.FromHours(1));
        if (lifetime <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{SectionName}:Lifetime must be positive; got {lifetime}.");
        }

        return new TokenSettings
        {
            Issuer = section[nameof(Issuer)] is { Length: > 0 } issuer ? issuer : ServiceName,
            Audience = section[nameof(Audience)] is { Length: > 0 } audience ? audience : ServiceName,
            Lifetime = lifetime,
            SigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)),
        };
    }

    public TokenValidationParameters ValidationParameters() => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = SigningKey,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        NameClaimType = "sub",
        // ClockSkew stays JwtBearer's 5 minutes: the cache's blacklist entries cover a token until its expiry plus
        // that skew (BendCareCacheOptions.TokenClockSkew has the same default).
    };
}
