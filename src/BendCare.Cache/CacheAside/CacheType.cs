using System.Text.Json.Serialization.Metadata;
using BendCare.Cache.Diagnostics;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// Everything that makes one cache type different from another, as data: its key pattern, how long a value lives,
/// how it is serialised, how it is logged, and which groups its values belong to. The engine has one code path
/// for every type; a new type is one of these plus facade methods.
/// </summary>
/// <typeparam name="T">The cached value's type.</typeparam>
internal sealed class CacheType<T>
{
    private readonly string _keyPrefix;
    private readonly TimeSpan? _writeBackHorizon;
    private readonly string[] _spanNames;

    /// <param name="name">Low-cardinality name used as the metrics tag (<c>user_context</c>, ...).</param>
    /// <param name="keyPrefix">The full key prefix, option prefix included (<c>bcos:dev:user_context:</c>).</param>
    /// <param name="typeInfo">Source-generated JSON metadata.</param>
    /// <param name="maxTtl">The longest any value of this type lives; tombstones live this long too.</param>
    /// <param name="ttlFor">The lifetime of one value at a given time, or <see langword="null"/> when it must not be cached.</param>
    /// <param name="hitLog">The type's "cache hit in Redis" Debug line.</param>
    /// <param name="missLog">The type's "cache miss in Redis" Debug line.</param>
    public CacheType(
        string name,
        string keyPrefix,
        JsonTypeInfo<T> typeInfo,
        TimeSpan maxTtl,
        Func<T, DateTimeOffset, TimeSpan?> ttlFor,
        CacheResultLog hitLog,
        CacheResultLog missLog)
    {
        Name = name;
        _keyPrefix = keyPrefix;
        TypeInfo = typeInfo;
        MaxTtl = maxTtl;
        TtlFor = ttlFor;
        HitLog = hitLog;
        MissLog = missLog;
        Tag = new KeyValuePair<string, object?>(CacheTracing.CacheTypeAttribute, name);
        _spanNames = Enum.GetValues<TracedOperation>().Select(op => SpanNames.Of(op) + " " + name).ToArray();
    }

    /// <summary>
    /// How long after it was written a must-win value (a tombstone, a blacklisting) may still have to beat a write-back
    /// beyond <see cref="WriteBackHorizon"/>: the time between the horizon check and the server executing the
    /// compare-and-set (one operation timeout, plus a command a dead socket still delivers before the client drops it).
    /// </summary>
    public static readonly TimeSpan MustWinMargin = TimeSpan.FromSeconds(30);

    public string Name { get; }

    public KeyValuePair<string, object?> Tag { get; }

    public JsonTypeInfo<T> TypeInfo { get; }

    public TimeSpan MaxTtl { get; }

    public Func<T, DateTimeOffset, TimeSpan?> TtlFor { get; }

    public CacheResultLog HitLog { get; }

    public CacheResultLog MissLog { get; }

    /// <summary>
    /// The span attribute that carries an id of this type (<c>bendcare.cache.user_id</c>, ...), or
    /// <see langword="null"/>: ids are traced only when <see cref="BendCareCacheOptions.TraceIds"/> is on, and token ids never.
    /// </summary>
    public string? TraceIdAttribute { get; init; }

    /// <summary>
    /// A load that began longer ago than this is not written back. Every must-win value lives at least
    /// <see cref="MustWinLifetime"/>, so no write-back can outlive what it must lose to. Default <see cref="MaxTtl"/>.
    /// </summary>
    public TimeSpan WriteBackHorizon
    {
        get => _writeBackHorizon ?? MaxTtl;
        init => _writeBackHorizon = value;
    }

    /// <summary>The shortest life of a tombstone or blacklisting: the horizon plus <see cref="MustWinMargin"/>. See docs/freshness.md.</summary>
    public TimeSpan MustWinLifetime => WriteBackHorizon + MustWinMargin;

    /// <summary>The flag that enables the in-process cache (L1) for this type.</summary>
    public LocalCacheTypes LocalFlag { get; init; }

    /// <summary>
    /// Makes a value safe to hand to many callers at once (read-only collections), when the in-process cache keeps it.
    /// Applied to the value installed AND to the one returned, so no caller holds a mutable view of a shared value.
    /// </summary>
    public Func<T, T>? Freeze { get; init; }

    /// <summary>Whether a value can never become untrue (a "blacklisted" answer), so L1 keeps it even while unverified.</summary>
    public Func<T, bool>? IsPermanent { get; init; }

    /// <summary>This instance's in-process store of the type, when L1 is enabled for it; set once at start.</summary>
    internal LocalCache.LocalStore? Local { get; set; }

    /// <summary>When set, values of this type belong to groups (a user context to its roles) and are invalidated with them.</summary>
    public GroupIndex<T>? Groups { get; init; }

    /// <summary>Whether ids of this type are secrets-adjacent (token ids) and are shortened in logs.</summary>
    public bool RedactIdInLogs { get; init; }

    public string Key(string id) => string.Concat(_keyPrefix, id);

    public string LogId(string id) => RedactIdInLogs ? Redact.Id(id) : id;

    /// <summary>The name of this type's span for <paramref name="operation"/> (<c>get user_context</c>), built once.</summary>
    public string SpanName(TracedOperation operation) => _spanNames[(int)operation];
}
