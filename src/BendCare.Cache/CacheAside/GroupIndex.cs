namespace BendCare.Cache.CacheAside;

/// <summary>
/// Lets one call invalidate every cached value that belongs to a group (every user context holding a role) with
/// single-key commands only, so it is cluster-safe and adds nothing to a hit. See docs/freshness.md for the proof.
/// </summary>
/// <remarks>
/// Redis holds a global epoch counter and, per group, a sorted set of the ids of values that belong to it, each scored
/// by the server time until which a value registered under it may still exist. A write-back first adds its id to each
/// of its groups' sets, then re-reads the epoch and drops itself if the epoch moved since before its load began. A group
/// invalidation increments the epoch, then tombstones every id in the group's set whose score is still in the future.
/// Expired members are pruned a few at a time by every addition, so a set holds about the values that may still exist.
/// </remarks>
/// <typeparam name="T">The grouped value's type.</typeparam>
internal sealed class GroupIndex<T>
{
    private readonly string _setKeyPrefix;

    /// <param name="epochKey">The global epoch counter's key (no TTL).</param>
    /// <param name="setKeyPrefix">Prefix of the per-group member sets' keys.</param>
    /// <param name="memberLifetime">
    /// How long after its registration a member's value may still exist (its write-back's horizon and margin, plus its
    /// TTL); also the TTL of the whole set after its last addition.
    /// </param>
    /// <param name="groupsOf">The groups one value belongs to.</param>
    /// <param name="idOf">The id of one value (the member stored in the sets).</param>
    public GroupIndex(string epochKey, string setKeyPrefix, TimeSpan memberLifetime, Func<T, IReadOnlyList<string>> groupsOf, Func<T, string> idOf)
    {
        EpochKey = epochKey;
        _setKeyPrefix = setKeyPrefix;
        MemberLifetime = memberLifetime;
        GroupsOf = groupsOf;
        IdOf = idOf;
    }

    public string EpochKey { get; }

    public TimeSpan MemberLifetime { get; }

    public Func<T, IReadOnlyList<string>> GroupsOf { get; }

    public Func<T, string> IdOf { get; }

    public string SetKey(string groupId) => string.Concat(_setKeyPrefix, groupId);

    /// <summary>
    /// The plain-set member key earlier versions wrote (<c>role_users:</c>); a group invalidation also tombstones the ids
    /// it lists, so a rolling upgrade loses no registration made by an instance still on the earlier version.
    /// </summary>
    public string? LegacySetKey(string groupId) => LegacySetKeyPrefix is null ? null : string.Concat(LegacySetKeyPrefix, groupId);

    public string? LegacySetKeyPrefix { get; init; }
}
