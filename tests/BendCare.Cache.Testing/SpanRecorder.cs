using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace BendCare.Cache.Testing;

/// <summary>
/// Records every span of the library's two sources and of <see cref="Source"/> (the test's own "request" and "database"
/// spans), as an OpenTelemetry SDK would receive them: through an <see cref="ActivityListener"/> that samples
/// everything. The listener is process-wide, so tests select their spans by trace (<see cref="Trace"/>) and, for root
/// spans such as a replay, by an attribute.
/// </summary>
public sealed class SpanRecorder : IDisposable
{
    /// <summary>The name of <see cref="Source"/>.</summary>
    public const string SourceName = "BendCare.Cache.Tests";

    /// <summary>The test's spans: the caller's request and the loader's database query.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _stopped = new();

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            // By name: comparing with Source here could run its initialiser while this listener is being added.
            ShouldListenTo = static s => s.Name is BendCareCacheDiagnostics.ActivitySourceName or BendCareCacheDiagnostics.RedisActivitySourceName or SourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Every span stopped so far.</summary>
    public IReadOnlyList<Activity> Stopped => [.. _stopped];

    /// <summary>The stopped spans of one trace.</summary>
    public IReadOnlyList<Activity> Trace(ActivityTraceId traceId) => [.. _stopped.Where(a => a.TraceId == traceId)];

    /// <summary>The stopped children of a span.</summary>
    public IReadOnlyList<Activity> ChildrenOf(Activity parent) => [.. _stopped.Where(a => a.ParentSpanId == parent.SpanId && a.TraceId == parent.TraceId)];

    /// <summary>Waits (bounded) until a span matching <paramref name="match"/> has stopped, and returns it.</summary>
    public async Task<Activity> WaitForAsync(Func<Activity, bool> match, string what, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var found = _stopped.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No span {what}. Seen: {string.Join(", ", _stopped.Select(a => a.DisplayName).Distinct())}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>
    /// One trace as an indented tree: each span's name, its source (<c>[redis]</c> for commands, <c>[test]</c> for the
    /// test's own), duration, status and attributes; links shown as <c>link→</c> the linked span's name.
    /// </summary>
    public string Tree(ActivityTraceId traceId)
    {
        var spans = Trace(traceId).OrderBy(a => a.StartTimeUtc).ToList();
        var byId = _stopped.ToDictionary(a => a.SpanId);
        var text = new StringBuilder();
        foreach (var root in spans.Where(a => a.ParentSpanId == default || spans.All(p => p.SpanId != a.ParentSpanId)))
        {
            Append(root, 0);
        }

        return text.ToString();

        void Append(Activity span, int depth)
        {
            string source = span.Source.Name switch
            {
                BendCareCacheDiagnostics.ActivitySourceName => "",
                BendCareCacheDiagnostics.RedisActivitySourceName => " [redis]",
                _ => " [test]",
            };
            text.Append(' ', depth * 2).Append(span.DisplayName).Append(source)
                .Append($" {span.Duration.TotalMilliseconds:F1} ms");
            if (span.Status != ActivityStatusCode.Unset)
            {
                text.Append(" status=").Append(span.Status);
            }

            foreach (var tag in span.TagObjects)
            {
                text.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
            }

            foreach (var link in span.Links)
            {
                text.Append(" link→").Append(byId.TryGetValue(link.Context.SpanId, out var linked) ? linked.DisplayName : link.Context.SpanId.ToString());
            }

            text.AppendLine();
            foreach (var child in spans.Where(c => c.ParentSpanId == span.SpanId).OrderBy(c => c.StartTimeUtc))
            {
                Append(child, depth + 1);
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>Reads a span's attributes in assertions.</summary>
public static class SpanExtensions
{
    public static object? Tag(this Activity span, string name) => span.GetTagItem(name);

    /// <summary>Every text a span carries: its name, attributes, events, status description and links' states.</summary>
    public static IEnumerable<string> Texts(this Activity span)
    {
        yield return span.DisplayName;
        yield return span.OperationName;
        if (span.StatusDescription is { } status)
        {
            yield return status;
        }

        foreach (var tag in span.TagObjects)
        {
            yield return tag.Key;
            yield return tag.Value?.ToString() ?? "";
        }

        foreach (var e in span.Events)
        {
            yield return e.Name;
            foreach (var tag in e.Tags)
            {
                yield return tag.Key;
                yield return tag.Value?.ToString() ?? "";
            }
        }

        foreach (var baggage in span.Baggage)
        {
            yield return baggage.Key;
            yield return baggage.Value ?? "";
        }

        if (span.TraceStateString is { } traceState)
        {
            yield return traceState;
        }
    }
}
