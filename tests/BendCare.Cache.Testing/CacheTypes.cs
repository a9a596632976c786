using Xunit;

namespace BendCare.Cache.Testing;

/// <summary>
/// The five cache types as test data, so one test states a behaviour for all of them: the types differ by data,
/// and so do their tests.
/// </summary>
public sealed class CacheType
{
    private CacheType(
        string name,
        string keySegment,
        TimeSpan ttl,
        Func<IRbacCache, string, Func<CancellationToken, ValueTask<object?>>, ValueTask<object?>> get,
        Func<IRbacCache, string, string, ValueTask> set,
        Func<IRbacCache, string, ValueTask> invalidate,
        Func<string, string, object> make,
        bool nullable = true)
    {
        Name = name;
        KeySegment = keySegment;
        Ttl = ttl;
        _get = get;
        _set = set;
        _invalidate = invalidate;
        _make = make;
        Nullable = nullable;
    }

    private readonly Func<IRbacCache, string, Func<CancellationToken, ValueTask<object?>>, ValueTask<object?>> _get;
    private readonly Func<IRbacCache, string, string, ValueTask> _set;
    private readonly Func<IRbacCache, string, ValueTask> _invalidate;
    private readonly Func<string, string, object> _make;

    public string Name { get; }

    public string KeySegment { get; }

    public TimeSpan Ttl { get; }

    /// <summary>Whether the loader can return null (all but the blacklist).</summary>
    public bool Nullable { get; }

    public static IReadOnlyList<CacheType> All { get; } =
    [
        new(
            "user_context",
            "user_context:",
            TimeSpan.FromMinutes(5),
            async (c, id, load) => await c.GetUserContextAsync(id, async ct => (UserContext?)await load(ct)),
            (c, id, v) => c.SetUserContextAsync(Models.UserContext(id, v)),
            (c, id) => c.InvalidateUserContextAsync(id),
            (id, v) => Models.UserContext(id, v)),
        new(
            "role_perms",
            "role_perms:",
            TimeSpan.FromHours(24),
            async (c, id, load) => await c.GetRolePermissionsAsync(id, async ct => (RolePermissions?)await load(ct)),
            (c, id, v) => c.SetRolePermissionsAsync(Models.RolePermissions(id, v)),
            (c, id) => c.InvalidateRolePermissionsAsync(id),
            (id, v) => Models.RolePermissions(id, v)),
        new(
            "user_basic",
            "user_basic:",
            TimeSpan.FromMinutes(5),
            async (c, id, load) => await c.GetUserBasicAsync(id, async ct => (UserBasicInfo?)await load(ct)),
            (c, id, v) => c.SetUserBasicAsync(Models.UserBasic(id, v)),
            (c, id) => c.InvalidateUserBasicAsync(id),
            (id, v) => Models.UserBasic(id, v)),
        new(
            "token_bl",
            "token_bl:",
            TimeSpan.FromMinutes(1),
            async (c, id, load) => await c.IsTokenBlacklistedAsync(id, async ct => (bool)(await load(ct))!),
            (c, id, v) => c.BlacklistTokenAsync(id, null),
            (c, id) => c.BlacklistTokenAsync(id, null),
            (id, v) => false,
            nullable: false),
        new(
            "jwt_payload",
            "jwt_payload:",
            TimeSpan.FromMinutes(5),
            async (c, id, load) => await c.GetJwtPayloadAsync(id, async ct => (JwtPayload?)await load(ct)),
            (c, id, v) => c.SetJwtPayloadAsync(Models.JwtPayload(id, v)),
            (c, id) => c.InvalidateJwtPayloadAsync(id),
            (id, v) => Models.JwtPayload(id, v)),
    ];

    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var type in All)
            {
                data.Add(type.Name);
            }

            return data;
        }
    }

    public static CacheType Named(string name) => All.Single(t => t.Name == name);

    public object Make(string id, string version = "v1") => _make(id, version);

    public ValueTask<object?> GetAsync(IRbacCache cache, string id, Func<CancellationToken, ValueTask<object?>> loader) => _get(cache, id, loader);

    public ValueTask SetAsync(IRbacCache cache, string id, string version = "v1") => _set(cache, id, version);

    public ValueTask InvalidateAsync(IRbacCache cache, string id) => _invalidate(cache, id);

    public string Key(string prefix, string id) => prefix + KeySegment + id;

    public override string ToString() => Name;
}
