namespace BendCare.Cache.LoadDriver.Traffic;

/// <summary>
/// What the driver knows the service's database holds: the seed (samples/BendCare.Cache.ReferenceService/README.md,
/// "Data") plus the driver's own edits, applied when the service has answered 204. Every request's expected status is
/// computed from it, so a stale permission served after an edit returned counts as a failed request.
/// </summary>
/// <remarks>
/// The driver's admin makes one edit at a time. <see cref="Generation"/> is odd while an edit is in flight: a request
/// that saw an odd generation, or another generation when it ended, overlapped an edit and may see either state.
/// </remarks>
internal sealed class RbacModel
{
    public const int Users = 1000;
    public const int Roles = 20;

    /// <summary>Every permission of the seed but <c>admin:write</c>, which the driver's edits never hand out.</summary>
    public static readonly string[] GrantablePermissions =
        ["reports:read", "reports:export", "patients:read", "patients:write", "appointments:read", "appointments:write", "billing:read", "billing:write", "users:read"];

    // Role rK is in family (K-1) % 4: clinician, billing, front desk, analyst.
    private static readonly string[][] Families =
    [
        ["patients:read", "patients:write", "appointments:read", "reports:read"],
        ["billing:read", "billing:write", "reports:read"],
        ["appointments:read", "appointments:write", "patients:read"],
        ["reports:read", "reports:export", "users:read"],
    ];

    // Index 1..Roles / 1..Users; each array is replaced whole, never changed in place.
    private readonly string[][] _rolePermissions = new string[Roles + 1][];
    private readonly int[][] _userRoles = new int[Users + 1][];
    private long _generation;

    public RbacModel()
    {
        for (int role = 1; role <= Roles; role++)
        {
            _rolePermissions[role] = SeededPermissions(role);
        }

        for (int user = 1; user <= Users; user++)
        {
            _userRoles[user] = SeededRoles(user);
        }
    }

    /// <summary>Odd while an edit is in flight; grows by two with each edit.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>User uN holds N % 3 + 1 roles: r((N-1+7j) % 20 + 1) for j = 0, 1, 2.</summary>
    public static int[] SeededRoles(int user) => [.. Enumerable.Range(0, user % 3 + 1).Select(j => (user - 1 + 7 * j) % Roles + 1)];

    public static string[] SeededPermissions(int role) => Families[(role - 1) % Families.Length];

    public static string UserId(int user) => $"u{user}";

    public static string RoleId(int role) => $"r{role}";

    public int[] RolesOf(int user) => Volatile.Read(ref _userRoles[user]);

    public string[] PermissionsOf(int role) => Volatile.Read(ref _rolePermissions[role]);

    public bool Allows(int user, string permission)
    {
        foreach (int role in RolesOf(user))
        {
            if (Array.IndexOf(PermissionsOf(role), permission) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Brackets an edit: odd generation from before the request is sent until after the model holds its result.</summary>
    public async Task<bool> EditAsync(Func<Task<bool>> send, Action apply)
    {
        Interlocked.Increment(ref _generation);
        try
        {
            bool applied = await send();
            if (applied)
            {
                apply();
            }

            return applied;
        }
        finally
        {
            Interlocked.Increment(ref _generation);
        }
    }

    public void SetRoles(int user, int[] roles) => Volatile.Write(ref _userRoles[user], roles);

    public void SetPermissions(int role, string[] permissions) => Volatile.Write(ref _rolePermissions[role], permissions);
}
