namespace BendCare.Cache.QuickStart;

/// <summary>
/// Stands in for the real database: each loader takes a few milliseconds, like a query, and counts its calls,
/// so the demo can show when the cache answered and when the database had to.
/// </summary>
internal sealed class FakeDatabase
{
    private static readonly TimeSpan QueryTime = TimeSpan.FromMilliseconds(20);

    private readonly HashSet<string> _revokedTokens = [];
    private int _calls;

    /// <summary>How many queries reached the database so far.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public void RevokeToken(string tokenId)
    {
        lock (_revokedTokens)
        {
            _revokedTokens.Add(tokenId);
        }
    }

    public async ValueTask<UserContext?> LoadUserContextAsync(string userId, string roleId, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        return new UserContext
        {
            UserId = userId,
            RoleIds = [roleId],
            Permissions = ["patients:read", "appointments:write"],
            OrganizationIds = ["org-1"],
        };
    }

    public async ValueTask<bool> IsTokenRevokedAsync(string tokenId, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        lock (_revokedTokens)
        {
            return _revokedTokens.Contains(tokenId);
        }
    }

    private Task QueryAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return Task.Delay(QueryTime, cancellationToken);
    }
}
