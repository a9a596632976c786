using System.Diagnostics;
using BendCare.Cache.CacheAside;
using BendCare.Cache.Connection;

namespace BendCare.Cache.Diagnostics;

/// <summary>
/// The library's spans (<see cref="BendCareCacheDiagnostics.ActivitySourceName"/>) and Redis command spans
/// (<see cref="BendCareCacheDiagnostics.RedisActivitySourceName"/>). With no listener every helper returns or does
/// nothing after one check, so an untraced hit pays a field read, never an allocation. Spans carry no key and no token
/// id; user and role ids only when <see cref="BendCareCacheOptions.TraceIds"/> is on. Attribute reference:
/// docs/observability.md.
/// </summary>
/// <remarks>
/// A span may only be started inside an <see langword="async"/> method: starting one makes it
/// <see cref="Activity.Current"/>, and only an async method's return puts the caller's current activity back.
/// </remarks>
internal static class CacheTracing
{
    public const string CacheTypeAttribute = "cache.type";
    public const string HitAttribute = "cache.hit";
    public const string OutcomeAttribute = "bendcare.cache.outcome";
    public const string LoaderAttribute = "bendcare.cache.loader";
    public const string CountAttribute = "bendcare.cache.count";
    public const string ReasonAttribute = "bendcare.cache.reason";
    public const string UserIdAttribute = "bendcare.cache.user_id";
    public const string RoleIdAttribute = "bendcare.cache.role_id";
    public const string ErrorTypeAttribute = "error.type";
    public const string ServerAddressAttribute = "server.address";
    public const string ServerPortAttribute = "server.port";
    public const string DbSystemAttribute = "db.system.name";
    public const string DbOperationAttribute = "db.operation.name";

    /// <summary>The loader ran under this span (its own spans are children of it).</summary>
    public const string LoaderCalled = "called";

    /// <summary>This caller joined a load in flight: the loader ran under the leader's span, linked from this one.</summary>
    public const string LoaderShared = "shared";

    public const string ReplaySpanName = "replay invalidations";

    private static readonly string? Version = typeof(CacheTracing).Assembly.GetName().Version?.ToString();
    private static readonly object True = true;
    private static readonly object False = false;

    public static readonly ActivitySource Operations = new(BendCareCacheDiagnostics.ActivitySourceName, Version);

    public static readonly ActivitySource Redis = new(BendCareCacheDiagnostics.RedisActivitySourceName, Version);

    /// <summary>Whether anyone listens to the operation spans: the one check an untraced operation pays.</summary>
    public static bool IsEnabled => Operations.HasListeners();

    /// <summary>Starts an operation span, or returns <see langword="null"/> (nothing allocated) when nobody listens.</summary>
    /// <param name="name">The span name (<c>get user_context</c>, ...).</param>
    /// <param name="cacheType">The <c>cache.type</c> attribute.</param>
    /// <param name="idAttribute">The id's attribute, or <see langword="null"/> when ids are not traced (always for token ids).</param>
    /// <param name="id">The id.</param>
    public static Activity? Start(string name, string cacheType, string? idAttribute, string? id)
    {
        if (!Operations.HasListeners())
        {
            return null;
        }

        var activity = Operations.StartActivity(name, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(CacheTypeAttribute, cacheType);
            if (idAttribute is not null)
            {
                activity.SetTag(idAttribute, id);
            }
        }

        return activity;
    }

    /// <summary>
    /// Starts the replay's span as a root: it serves no request, whatever activity the background loop inherited.
    /// </summary>
    public static Activity? StartReplay(string? host, int port)
    {
        if (!Operations.HasListeners())
        {
            return null;
        }

        Activity.Current = null;
        var activity = Operations.StartActivity(ReplaySpanName, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true } && host is not null)
        {
            activity.SetTag(ServerAddressAttribute, host);
            activity.SetTag(ServerPortAttribute, port);
        }

        return activity;
    }

    /// <summary>How a read ended: <c>cache.hit</c> and <c>bendcare.cache.outcome</c>.</summary>
    public static void Read(Activity? activity, ReadOutcome outcome)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(HitAttribute, outcome == ReadOutcome.Hit ? True : False);
        activity.SetTag(OutcomeAttribute, Name(outcome));
    }

    /// <summary>A read answered from the in-process cache: a hit, with <c>bendcare.cache.tier=local</c>.</summary>
    public static void LocalHit(string name, string cacheType, string? idAttribute, string id)
    {
        using var activity = Start(name, cacheType, idAttribute, id);
        if (activity is not null)
        {
            Read(activity, ReadOutcome.Hit);
            activity.SetTag("bendcare.cache.tier", "local");
        }
    }

    /// <summary>Whether this read's caller ran the loader or joined another caller's load (then a link to its span).</summary>
    public static void Loader(Activity? activity, bool shared, ActivityContext leader = default)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(LoaderAttribute, shared ? LoaderShared : LoaderCalled);
#if NET9_0_OR_GREATER
        if (shared && leader != default)
        {
            activity.AddLink(new ActivityLink(leader));
        }
#endif
    }

    /// <summary>How a write ended (<c>applied</c>, <c>remembered</c>, <c>dropped</c>, <c>skipped</c>), and how many keys it concerned.</summary>
    public static void Wrote(Activity? activity, InvalidationOutcome outcome, int? count = null)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(OutcomeAttribute, Name(outcome));
        if (count is { } n)
        {
            activity.SetTag(CountAttribute, n);
        }
    }

    /// <summary>A write-back that did not write: <c>dropped</c> and why (a fixed, low-cardinality text).</summary>
    public static void Dropped(Activity? activity, string reason)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(OutcomeAttribute, Name(InvalidationOutcome.Dropped));
        activity.SetTag(ReasonAttribute, reason);
    }

    /// <summary>A replay's result: how many remembered writes went through, and whether any are still owed.</summary>
    public static void Replayed(Activity? activity, int replayed, bool anyLeft)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(CountAttribute, replayed);
        activity.SetTag(OutcomeAttribute, Name(anyLeft ? InvalidationOutcome.Remembered : InvalidationOutcome.Applied));
    }

    /// <summary>
    /// An exception leaving the operation (the loader's, passed on unchanged): the span's status is Error with the
    /// exception's type as <c>error.type</c>; its message is not recorded (it may hold data). Returns
    /// <see langword="false"/>, for use as an exception filter that catches nothing.
    /// </summary>
    public static bool Failed(Activity? activity, Exception exception)
    {
        if (activity is not null)
        {
            string type = exception.GetType().FullName ?? exception.GetType().Name;
            activity.SetTag(ErrorTypeAttribute, type);
            activity.SetStatus(ActivityStatusCode.Error, type);
        }

        return false;
    }

    /// <summary>A client span for one Redis command about to be sent, or <see langword="null"/> when nobody listens.</summary>
    public static Activity? StartCommand(string? command)
    {
        if (command is null || !Redis.HasListeners())
        {
            return null;
        }

        var activity = Redis.StartActivity(command, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(DbSystemAttribute, "redis");
            activity.SetTag(DbOperationAttribute, command);
        }

        return activity;
    }

    /// <summary>A Redis command that failed: Error status, <c>error.type</c> <c>timeout</c> or the exception's type (never its message: it names keys).</summary>
    public static void CommandFailed(Activity? activity, OperationStatus status, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        string type = status == OperationStatus.TimedOut ? "timeout" : exception.GetType().FullName ?? exception.GetType().Name;
        activity.SetTag(ErrorTypeAttribute, type);
        activity.SetStatus(ActivityStatusCode.Error, type);
    }

    /// <summary>The read outcome of a Redis step that did not answer.</summary>
    public static ReadOutcome OutcomeOf(OperationStatus status) => status switch
    {
        OperationStatus.Ok => ReadOutcome.Miss,
        OperationStatus.Skipped => ReadOutcome.Skipped,
        OperationStatus.TimedOut or OperationStatus.OutOfTime => ReadOutcome.Timeout,
        _ => ReadOutcome.Error,
    };

    public static string Name(ReadOutcome outcome) => outcome switch
    {
        ReadOutcome.Hit => "hit",
        ReadOutcome.Miss => "miss",
        ReadOutcome.Skipped => "skipped",
        ReadOutcome.Timeout => "timeout",
        ReadOutcome.UnreadableHealed => "unreadable_healed",
        _ => "error",
    };

    public static string Name(InvalidationOutcome outcome) => outcome switch
    {
        InvalidationOutcome.Applied => "applied",
        InvalidationOutcome.Remembered => "remembered",
        InvalidationOutcome.Dropped => "dropped",
        _ => "skipped",
    };
}
