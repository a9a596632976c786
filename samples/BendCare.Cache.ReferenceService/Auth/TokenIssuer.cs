using BendCare.Cache.ReferenceService.Database;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace BendCare.Cache.ReferenceService.Auth;

/// <summary>Issues signed tokens (<c>jti</c>, <c>sub</c>, <c>exp</c>) and records each one in the database.</summary>
internal sealed class TokenIssuer(TokenSettings settings, RbacDatabase database, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new();
    private readonly SigningCredentials _credentials = new(settings.SigningKey, SecurityAlgorithms.HmacSha256);

    public async Task<(string Token, DateTimeOffset ExpiresAt)> IssueAsync(string userId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // Whole seconds: exp is in seconds, and the database record must say exactly what the token says.
        now = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var expiresAt = now + settings.Lifetime;
        string tokenId = Guid.NewGuid().ToString("N");
        string token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expiresAt.UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Jti] = tokenId,
                [JwtRegisteredClaimNames.Sub] = userId,
            },
            SigningCredentials = _credentials,
        });
        await database.RecordIssuedTokenAsync(tokenId, userId, now, expiresAt, cancellationToken);
        return (token, expiresAt);
    }
}
