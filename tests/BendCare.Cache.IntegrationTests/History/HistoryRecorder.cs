using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>One getter call as the caller saw it.</summary>
public sealed class ReadRecord
{
    /// <summary>The scheduled operation.</summary>
    public required ScheduledOperation Operation { get; init; }

    /// <summary><see cref="Stopwatch.GetTimestamp"/> just before the call.</summary>
    public long Start { get; set; }

    /// <summary><see cref="Stopwatch.GetTimestamp"/> when it returned or threw.</summary>
    public long End { get; set; }

    /// <summary>Wall-clock time of <see cref="Start"/> (for the token-expiry rule).</summary>
    public DateTimeOffset StartWall { get; set; }

    /// <summary>What it returned (when it did not throw).</summary>
    public object? Value { get; set; }

    /// <summary>What it threw.</summary>
    public Exception? Error { get; set; }

    /// <summary>
    /// What the library said became of each write the call made (<c>bendcare.cache.invalidations</c>'s outcome tag:
    /// applied, remembered, dropped); empty for a cache that reports none.
    /// </summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Outcomes { get; } = new();

    /// <summary>Whether the caller's own token was cancelled when the exception arrived.</summary>
    public bool OwnTokenCancelled { get; set; }

    /// <summary>The version this caller's own loader read from the model, when it ran.</summary>
    public int? LoaderVersion { get; set; }

    /// <summary>When this caller's own loader read the model.</summary>
    public long LoaderReadAt { get; set; }

    /// <summary>
    /// When this caller's own loader returned its value (0: it threw or did not run). A load can finish, and be
    /// written back, after its caller gave up: the call then threw, but the copy is in the cache all the same.
    /// </summary>
    public long LoaderReturnedAt { get; set; }
}

/// <summary>One model write and the cache call that followed it.</summary>
public sealed class WriteRecord
{
    /// <summary>The scheduled operation.</summary>
    public required ScheduledOperation Operation { get; init; }

    /// <summary>The versions the commit created (a role edit bumps the role and every holder's context).</summary>
    public IReadOnlyList<(EntityKey Key, int Version)> Committed { get; set; } = [];

    /// <summary>When the invalidation/blacklisting call started (after the commit).</summary>
    public long InvalidationStart { get; set; }

    /// <summary>When it returned or threw.</summary>
    public long InvalidationEnd { get; set; }

    /// <summary>What it threw.</summary>
    public Exception? Error { get; set; }

    /// <summary>
    /// What the library said became of each write the call made (<c>bendcare.cache.invalidations</c>'s outcome tag:
    /// applied, remembered, dropped); empty for a cache that reports none.
    /// </summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Outcomes { get; } = new();

    /// <summary>Whether the caller's own token was cancelled when the exception arrived.</summary>
    public bool OwnTokenCancelled { get; set; }

    /// <summary>Blacklistings: the expiry passed.</summary>
    public DateTimeOffset? Expiry { get; set; }

    /// <summary>True when the call returned without throwing.</summary>
    public bool Returned => InvalidationEnd != 0 && Error is null;
}

/// <summary>One injected fault: when it began and ended.</summary>
public sealed class FaultRecord
{
    /// <summary>The scheduled operation.</summary>
    public required ScheduledOperation Operation { get; init; }

    /// <summary>When the fault began.</summary>
    public long Start { get; set; }

    /// <summary>When it ended (a proxy back to pass, the server answering again, the corrupting command returned).</summary>
    public long End { get; set; }

    /// <summary>Why injecting it failed, if it did (it is still counted as possibly applied).</summary>
    public string? Failure { get; set; }
}

/// <summary>
/// The history of a run: every call with its start and end on one monotonic clock (<see cref="Stopwatch.GetTimestamp"/>;
/// one process), every fault, and the exceptions the model's loaders threw. Thread-safe.
/// </summary>
public sealed class HistoryRecorder
{
    private readonly ConcurrentQueue<ReadRecord> _reads = new();
    private readonly ConcurrentQueue<WriteRecord> _writes = new();
    private readonly ConcurrentQueue<FaultRecord> _faults = new();
    private readonly ConditionalWeakTable<ModelLoaderException, object> _thrown = [];

    private readonly long[] _connectedAt;

    /// <summary>Creates a recorder for <paramref name="instances"/> instances whose relative times count from now.</summary>
    public HistoryRecorder(int instances)
    {
        Origin = Stopwatch.GetTimestamp();
        OriginWall = DateTimeOffset.UtcNow;
        _connectedAt = new long[instances];
    }

    /// <summary>When each instance first reached the server (0: never during the run).</summary>
    public IReadOnlyList<long> ConnectedAt => [.. Enumerable.Range(0, _connectedAt.Length).Select(i => Volatile.Read(ref _connectedAt[i]))];

    /// <summary>Notes that <paramref name="instance"/> reached the server now.</summary>
    public void Connected(int instance) => Interlocked.CompareExchange(ref _connectedAt[instance], Stopwatch.GetTimestamp(), 0);

    /// <summary>Timestamp of the run's start.</summary>
    public long Origin { get; }

    /// <summary>Wall-clock time of <see cref="Origin"/>.</summary>
    public DateTimeOffset OriginWall { get; }

    /// <summary>Reads recorded so far.</summary>
    public IReadOnlyList<ReadRecord> Reads => [.. _reads];

    /// <summary>Writes recorded so far.</summary>
    public IReadOnlyList<WriteRecord> Writes => [.. _writes];

    /// <summary>Faults recorded so far.</summary>
    public IReadOnlyList<FaultRecord> Faults => [.. _faults];

    /// <summary>Adds a finished read.</summary>
    public void Add(ReadRecord read) => _reads.Enqueue(read);

    /// <summary>Adds a finished write.</summary>
    public void Add(WriteRecord write) => _writes.Enqueue(write);

    /// <summary>Adds a finished fault.</summary>
    public void Add(FaultRecord fault) => _faults.Enqueue(fault);

    /// <summary>A new loader exception for <paramref name="key"/>, remembered so the checker can tell it reached a caller unchanged.</summary>
    public ModelLoaderException NewLoaderException(EntityKey key)
    {
        var exception = new ModelLoaderException(key);
        _thrown.Add(exception, key);
        return exception;
    }

    /// <summary>True when <paramref name="exception"/> is one a loader of <paramref name="key"/> threw (the very object).</summary>
    public bool IsLoaderException(Exception exception, EntityKey key) =>
        exception is ModelLoaderException m && _thrown.TryGetValue(m, out var thrownFor) && thrownFor is EntityKey k && k == key;

    /// <summary>Milliseconds from the run's start to <paramref name="timestamp"/>.</summary>
    public double Ms(long timestamp) => Stopwatch.GetElapsedTime(Origin, timestamp).TotalMilliseconds;

    /// <summary><paramref name="timestamp"/> as text, in ms from the start.</summary>
    public string At(long timestamp) => Ms(timestamp).ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>Timestamp of an offset from the start.</summary>
    public long ToTimestamp(double ms) => Origin + (long)(ms * Stopwatch.Frequency / 1000.0);

    /// <summary>Wall-clock time of <paramref name="timestamp"/>.</summary>
    public DateTimeOffset Wall(long timestamp) => OriginWall + Stopwatch.GetElapsedTime(Origin, timestamp);
}
