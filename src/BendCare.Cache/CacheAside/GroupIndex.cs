namespace BendCare.Cache.CacheAside;

/// <summary>
/// Lets one call invalidate every cached value that belongs to a group (every user context holding a role) with
/// single-key commands only, so it is cluster-safe and adds nothing to a hit. See docs/freshness.md for the proof.
/// </summary>
/// <remarks>
/// Redis holds a global epoch counter and, per group, a set of the ids of values that belong to it. A write-back
/// first adds its id to each of its groups' sets, then re-reads the epoch and drops itself if the epoch moved since
/// before its load began. A group invalidation increments the epoch, then tombstones every id in the group's set.
/// </remarks>
/// <typeparam name="T">The grouped value's type.</typeparam>
internal sealed class GroupIndex<T>
{
    private readonly string _setKeyPrefix;

    /// <param name="epochKey">The global epoch counter's key (no TTL).</param>
    /// <param name="setKeyPrefix">Prefix of the per-group member sets' keys.</param>
    /// <param name="setTtl">How long a member set lives after its last addition; longer than any member's TTL.</param>
    /// <param name="groupsOf">The groups one value belongs to.</param>
    /// <param name="idOf">The id of one value (the member stored in the sets).</param>
    public GroupIndex(string epochKey, string setKeyPrefix, TimeSpan setTtl, Func<T, IReadOnlyList<string>> groupsOf, Func<T, string> idOf)
    {
        EpochKey = epochKey;
        _setKeyPrefix = setKeyPrefix;
        SetTtl = setTtl;
        GroupsOf = groupsOf;
        IdOf = idOf;
    }

    public string EpochKey { get; }

    public TimeSpan SetTtl { get; }

    public Func<T, IReadOnlyList<string>> GroupsOf { get; }

    public Func<T, string> IdOf { get; }

    public string SetKey(string groupId) => string.Concat(_setKeyPrefix, groupId);
}
