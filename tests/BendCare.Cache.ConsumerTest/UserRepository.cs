using BendCare.Cache;

namespace ConsumerTest;

/// <summary>The service's database access that the README's snippets call (<c>db.LoadUserContextAsync</c>).</summary>
public interface IUserRepository
{
    ValueTask<UserContext?> LoadUserContextAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>An in-memory "database" that counts its loads, so the program can tell a miss from a hit.</summary>
public sealed class CountingUserRepository : IUserRepository
{
    private int _loads;

    public int Loads => Volatile.Read(ref _loads);

    public ValueTask<UserContext?> LoadUserContextAsync(string userId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loads);
        return ValueTask.FromResult<UserContext?>(new UserContext { UserId = userId, RoleIds = ["r1"], Permissions = ["read"], OrganizationIds = [] });
    }
}
