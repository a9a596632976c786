using System.Diagnostics;
using System.Globalization;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>The five cache types the history checker drives.</summary>
public enum EntityKind
{
    /// <summary><c>user_context:{id}</c>.</summary>
    UserContext,

    /// <summary><c>role_perms:{id}</c>.</summary>
    RolePermissions,

    /// <summary><c>user_basic:{id}</c>.</summary>
    UserBasic,

    /// <summary><c>token_bl:{id}</c> (version 0: not blacklisted, 1: blacklisted).</summary>
    TokenBlacklist,

    /// <summary><c>jwt_payload:{id}</c>.</summary>
    JwtPayload,
}

/// <summary>One cached entity: its type and id.</summary>
public readonly record struct EntityKey(EntityKind Kind, string Id)
{
    /// <summary>The key name without the prefix, as the library names it.</summary>
    public string RedisName => Kind switch
    {
        EntityKind.UserContext => "user_context:" + Id,
        EntityKind.RolePermissions => "role_perms:" + Id,
        EntityKind.UserBasic => "user_basic:" + Id,
        EntityKind.TokenBlacklist => "token_bl:" + Id,
        _ => "jwt_payload:" + Id,
    };

    /// <inheritdoc />
    public override string ToString() => RedisName;
}

/// <summary>One committed version of an entity in the model database.</summary>
/// <param name="Version">0 for the initial value, then +1 per write.</param>
/// <param name="CommittedAt"><see cref="Stopwatch.GetTimestamp"/> of the commit (0 for the initial value).</param>
/// <param name="Value">The value a loader returns for this version.</param>
/// <param name="Text">Canonical text of <paramref name="Value"/> (see <see cref="ModelValues.Describe"/>).</param>
public sealed record ModelVersion(int Version, long CommittedAt, object Value, string Text);

/// <summary>Thrown by the model's loaders on purpose; must reach the caller unchanged.</summary>
public sealed class ModelLoaderException : Exception
{
    /// <summary>Creates one for <paramref name="key"/>.</summary>
    public ModelLoaderException(EntityKey key)
        : base($"model loader failed on purpose for {key}")
    {
        Key = key;
    }

    /// <summary>Creates one with a message.</summary>
    public ModelLoaderException()
    {
    }

    /// <summary>Creates one with a message.</summary>
    public ModelLoaderException(string message)
        : base(message)
    {
    }

    /// <summary>Creates one with a message and an inner exception.</summary>
    public ModelLoaderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The key whose loader threw.</summary>
    public EntityKey Key { get; }
}

/// <summary>
/// The source of truth: versioned user contexts (their roles and the permissions of those roles), role permissions,
/// user basic info, JWT payloads and revoked tokens. Every write bumps a version carried inside the value; every
/// committed version is kept, with its commit time, so the checker can tell which versions existed when.
/// Thread-safe: reads and commits take one lock and stamp the time inside it.
/// </summary>
public sealed class HistoryModel
{
    private readonly Lock _lock = new();
    private readonly Dictionary<EntityKey, List<ModelVersion>> _versions = [];
    private readonly Dictionary<string, string[]> _userRoles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _roleVersions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _tokenExpiry = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _jwtExpiresAt;

    /// <summary>Creates the initial state (version 0 of everything) from the schedule's universe.</summary>
    public HistoryModel(HistoryUniverse universe, DateTimeOffset jwtExpiresAt)
    {
        ArgumentNullException.ThrowIfNull(universe);
        _jwtExpiresAt = jwtExpiresAt;
        foreach (string role in universe.Roles)
        {
            _roleVersions[role] = 0;
            Add(new EntityKey(EntityKind.RolePermissions, role), 0, 0, ModelValues.Role(role, 0));
        }

        foreach (string user in universe.Users)
        {
            _userRoles[user] = universe.InitialRoles[user];
            Add(new EntityKey(EntityKind.UserContext, user), 0, 0, UserContextNow(user, 0));
            Add(new EntityKey(EntityKind.UserBasic, user), 0, 0, ModelValues.Basic(user, 0));
        }

        foreach (string token in universe.Tokens)
        {
            Add(new EntityKey(EntityKind.TokenBlacklist, token), 0, 0, false);
            Add(new EntityKey(EntityKind.JwtPayload, token), 0, 0, ModelValues.Jwt(token, 0, _jwtExpiresAt));
        }
    }

    /// <summary>The current version of <paramref name="key"/> and when it was read (what a loader does).</summary>
    public (ModelVersion Version, long ReadAt) Read(EntityKey key)
    {
        lock (_lock)
        {
            return (_versions[key][^1], Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Every committed version of <paramref name="key"/>, oldest first.</summary>
    public IReadOnlyList<ModelVersion> VersionsOf(EntityKey key)
    {
        lock (_lock)
        {
            return _versions.TryGetValue(key, out var list) ? [.. list] : [];
        }
    }

    /// <summary>The newest version of <paramref name="key"/> committed at or before <paramref name="timestamp"/>.</summary>
    public int VersionAt(EntityKey key, long timestamp)
    {
        lock (_lock)
        {
            var list = _versions[key];
            for (int i = list.Count - 1; i >= 0; i--)
            {
                if (list[i].CommittedAt <= timestamp)
                {
                    return list[i].Version;
                }
            }

            return 0;
        }
    }

    /// <summary>The expiry a revoked token was blacklisted with, if it was.</summary>
    public DateTimeOffset? TokenExpiry(string tokenId)
    {
        lock (_lock)
        {
            return _tokenExpiry.TryGetValue(tokenId, out var exp) ? exp : null;
        }
    }

    /// <summary>Gives <paramref name="userId"/> exactly <paramref name="roles"/>; bumps the user context.</summary>
    public IReadOnlyList<(EntityKey Key, int Version)> ChangeUserRoles(string userId, string[] roles)
    {
        lock (_lock)
        {
            _userRoles[userId] = roles;
            return [BumpUserContext(userId)];
        }
    }

    /// <summary>Edits the permissions of <paramref name="roleId"/>; bumps the role and every user context holding it.</summary>
    public IReadOnlyList<(EntityKey Key, int Version)> EditRolePermissions(string roleId)
    {
        lock (_lock)
        {
            long now = Stopwatch.GetTimestamp();
            int version = ++_roleVersions[roleId];
            var key = new EntityKey(EntityKind.RolePermissions, roleId);
            Add(key, version, now, ModelValues.Role(roleId, version));
            var bumped = new List<(EntityKey, int)> { (key, version) };
            foreach (var (user, roles) in _userRoles.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (roles.Contains(roleId, StringComparer.Ordinal))
                {
                    bumped.Add(BumpUserContext(user));
                }
            }

            return bumped;
        }
    }

    /// <summary>Edits the basic info of <paramref name="userId"/>.</summary>
    public IReadOnlyList<(EntityKey Key, int Version)> EditUserBasic(string userId) =>
        Bump(new EntityKey(EntityKind.UserBasic, userId), v => ModelValues.Basic(userId, v));

    /// <summary>Edits the claims of <paramref name="tokenId"/>'s payload.</summary>
    public IReadOnlyList<(EntityKey Key, int Version)> EditJwtPayload(string tokenId) =>
        Bump(new EntityKey(EntityKind.JwtPayload, tokenId), v => ModelValues.Jwt(tokenId, v, _jwtExpiresAt));

    /// <summary>Records the revocation of <paramref name="tokenId"/> (version 1 of its blacklist entry).</summary>
    public IReadOnlyList<(EntityKey Key, int Version)> RevokeToken(string tokenId, DateTimeOffset expiresAt)
    {
        lock (_lock)
        {
            var key = new EntityKey(EntityKind.TokenBlacklist, tokenId);
            if (_versions[key][^1].Version == 1)
            {
                return [(key, 1)];
            }

            _tokenExpiry[tokenId] = expiresAt;
            Add(key, 1, Stopwatch.GetTimestamp(), true);
            return [(key, 1)];
        }
    }

    private IReadOnlyList<(EntityKey Key, int Version)> Bump(EntityKey key, Func<int, object> make)
    {
        lock (_lock)
        {
            int version = _versions[key][^1].Version + 1;
            Add(key, version, Stopwatch.GetTimestamp(), make(version));
            return [(key, version)];
        }
    }

    private (EntityKey, int) BumpUserContext(string userId)
    {
        var key = new EntityKey(EntityKind.UserContext, userId);
        int version = _versions[key][^1].Version + 1;
        Add(key, version, Stopwatch.GetTimestamp(), UserContextNow(userId, version));
        return (key, version);
    }

    private UserContext UserContextNow(string userId, int version)
    {
        var roles = _userRoles[userId].Order(StringComparer.Ordinal).ToArray();
        return ModelValues.Context(userId, version, roles, roles.Select(r => _roleVersions[r]).ToArray());
    }

    private void Add(EntityKey key, int version, long committedAt, object value)
    {
        if (!_versions.TryGetValue(key, out var list))
        {
            _versions[key] = list = [];
        }

        list.Add(new ModelVersion(version, committedAt, value, ModelValues.Describe(value)));
    }
}

/// <summary>How model values encode their id and version, and their canonical text.</summary>
public static class ModelValues
{
    private const string VersionTag = "ver:";

    /// <summary>A user context: its roles, the permissions of those roles at their versions, and <c>ver:N</c> in OrganizationIds.</summary>
    public static UserContext Context(string userId, int version, string[] roles, int[] roleVersions)
    {
        ArgumentNullException.ThrowIfNull(roles);
        ArgumentNullException.ThrowIfNull(roleVersions);
        var permissions = roles.SelectMany((r, i) => new[] { r + ".read", $"{r}.edit-{roleVersions[i].ToString(CultureInfo.InvariantCulture)}" }).ToArray();
        return new UserContext { UserId = userId, RoleIds = roles, Permissions = permissions, OrganizationIds = ["org-" + userId, VersionTag + version.ToString(CultureInfo.InvariantCulture)] };
    }

    /// <summary>Role permissions with <c>ver:N</c> first.</summary>
    public static RolePermissions Role(string roleId, int version) =>
        new() { RoleId = roleId, Permissions = [VersionTag + version.ToString(CultureInfo.InvariantCulture), roleId + ".read", $"{roleId}.edit-{version.ToString(CultureInfo.InvariantCulture)}"] };

    /// <summary>User basic info with <c>ver:N</c> in the display name.</summary>
    public static UserBasicInfo Basic(string userId, int version) =>
        new() { UserId = userId, Email = userId + "@example.test", DisplayName = $"{userId} {VersionTag}{version.ToString(CultureInfo.InvariantCulture)}", IsActive = version % 5 != 4 };

    /// <summary>A JWT payload with the version in <c>Claims["ver"]</c>.</summary>
    public static JwtPayload Jwt(string tokenId, int version, DateTimeOffset expiresAt) =>
        new()
        {
            TokenId = tokenId,
            Subject = "sub-" + tokenId,
            ExpiresAt = expiresAt,
            Claims = new Dictionary<string, string>(StringComparer.Ordinal) { ["jti"] = tokenId, ["ver"] = version.ToString(CultureInfo.InvariantCulture) },
        };

    /// <summary>The id and version a returned value claims, or null when it carries none (garbage).</summary>
    public static (string Id, int Version)? Parse(object? value)
    {
        try
        {
            return value switch
            {
                UserContext c => (c.UserId, ParseTagged(c.OrganizationIds)),
                RolePermissions r => (r.RoleId, ParseTagged(r.Permissions)),
                UserBasicInfo b => (b.UserId, ParseTagged(b.DisplayName?.Split(' ') ?? [])),
                JwtPayload j => (j.TokenId, int.Parse(j.Claims["ver"], CultureInfo.InvariantCulture)),
                _ => null,
            };
        }
        catch (Exception ex) when (ex is FormatException or KeyNotFoundException or NullReferenceException or InvalidOperationException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>Canonical text of a value, for comparison with the model and for reports.</summary>
    public static string Describe(object? value)
    {
        try
        {
            return value switch
            {
                null => "null",
                bool b => b ? "blacklisted" : "not blacklisted",
                UserContext c => $"ctx {c.UserId} roles[{string.Join(',', c.RoleIds)}] perms[{string.Join(',', c.Permissions)}] orgs[{string.Join(',', c.OrganizationIds)}]",
                RolePermissions r => $"role {r.RoleId} perms[{string.Join(',', r.Permissions)}]",
                UserBasicInfo u => $"basic {u.UserId} {u.Email} '{u.DisplayName}' active={u.IsActive}",
                JwtPayload j => $"jwt {j.TokenId} sub={j.Subject} exp={j.ExpiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)} claims[{string.Join(',', j.Claims.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value))}]",
                _ => "unexpected " + value.GetType().Name,
            };
        }
        catch (NullReferenceException)
        {
            return "unreadable " + value?.GetType().Name;
        }
    }

    private static int ParseTagged(IEnumerable<string> items)
    {
        string tagged = items.Single(s => s.StartsWith(VersionTag, StringComparison.Ordinal));
        return int.Parse(tagged.AsSpan(VersionTag.Length), CultureInfo.InvariantCulture);
    }
}
