using BendCare.Cache.Connection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// A write that must reach Redis for freshness (an invalidation, a blacklisting). When Redis is unreachable it is
/// remembered under its key (last one wins) and replayed later; every kind is safe to apply more than once and
/// later than issued, because each only ever makes the cache more conservative.
/// </summary>
internal abstract class FreshnessWrite
{
    /// <summary>What <see cref="ApplyAsync"/> returns when everything reached Redis.</summary>
    protected static readonly IReadOnlyList<FreshnessWrite> Nothing = [];

    protected FreshnessWrite(string key, string cacheType, string logId)
    {
        Key = key;
        CacheType = cacheType;
        LogId = logId;
    }

    /// <summary>What the write is remembered under.</summary>
    public string Key { get; }

    public string CacheType { get; }

    public string LogId { get; }

    /// <summary>Whether this write concerns every value of a grouped type (a role invalidation), not just <see cref="Key"/>.</summary>
    public virtual bool IsGroupWide => false;

    /// <summary>Failed replays so far; sets the back-off before the next one. Only <see cref="RememberedWrites"/> touches it.</summary>
    public int Attempts { get; set; }

    /// <summary>Not replayed before this <see cref="TimeProvider"/> timestamp. Only <see cref="RememberedWrites"/> touches it.</summary>
    public long NextAttemptAt { get; set; }

    /// <summary>
    /// Applies the write and returns what did not reach Redis: nothing, the write itself, or — for a write of several
    /// steps — only the steps still owed, so a replay never repeats a step that went through.
    /// </summary>
    /// <param name="connection">The connection.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The library's logger.</param>
    /// <param name="deadline">Shared by every step (a caller waits one operation timeout at most); 0 = each step its own.</param>
    public abstract ValueTask<IReadOnlyList<FreshnessWrite>> ApplyAsync(RedisConnection connection, TimeProvider time, ILogger logger, long deadline = 0);

    /// <summary>Set when the write went through but could not do all it was for (a role's members were lost): reported as dropped.</summary>
    public bool Incomplete { get; protected set; }
}
