using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.LocalCache;
using BendCare.Cache.Serialization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

internal sealed partial class CacheAsideEngine
{
    /// <summary>
    /// The request path: an L1 hit answers synchronously (no state machine, nothing allocated); otherwise one GET; on a
    /// hit, deserialise from the pooled lease and return; otherwise load through the single-flight and write back in the
    /// background. Never throws because of Redis; rethrows the loader's exceptions.
    /// </summary>
    /// <param name="type">The cache type.</param>
    /// <param name="id">The validated id.</param>
    /// <param name="fingerprint">When set, a hit must carry exactly this fingerprint (JWT payloads bound to their token).</param>
    /// <param name="state">Passed to the loader, so a caller needs no closure (nothing allocated on a hit).</param>
    /// <param name="loader">The caller's database read.</param>
    /// <param name="cancellationToken">Cancels the wait; passed to the loader.</param>
    public ValueTask<T?> GetOrLoadAsync<T, TState>(
        CacheType<T> type,
        string id,
        byte[]? fingerprint,
        TState state,
        Func<TState, CancellationToken, ValueTask<T?>> loader,
        CancellationToken cancellationToken)
    {
        // L1 first, when the type has one (by id: a hit builds no key).
        if (type.Local is not null && !cancellationToken.IsCancellationRequested && TryLocalHit(type, id, fingerprint, out T? cached))
        {
            _metrics.Hit(type.Tag);
            if (CacheTracing.IsEnabled)
            {
                CacheTracing.LocalHit(type.SpanName(TracedOperation.Get), type.Name, type.TraceIdAttribute, id);
            }

            return new ValueTask<T?>(cached);
        }

        return GetOrLoadFromRedisAsync(type, id, fingerprint, state, loader, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T?> GetOrLoadFromRedisAsync<T, TState>(
        CacheType<T> type,
        string id,
        byte[]? fingerprint,
        TState state,
        Func<TState, CancellationToken, ValueTask<T?>> loader,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long started = _time.GetTimestamp();

        // Not in L1 (or no L1): a value read below is installed only if nothing invalidated it meanwhile.
        var ticket = type.Local is { } local ? local.Begin(id) : InstallTicket.None;

        string key = type.Key(id);
        var observed = ObservedState.Unknown;
        var outcome = ReadOutcome.Skipped;
        bool readSlow = false;

        // Null (and free) unless someone traces; the loader runs under it, so the caller's database span nests in it.
        using var activity = CacheTracing.Start(type.SpanName(TracedOperation.Get), type.Name, type.TraceIdAttribute, id);

        // Every Redis step before the loader (GET, healing a foreign value, the epoch GET) shares one operation timeout.
        long deadline = _connection.NewDeadline();

        // While an invalidation of this key waits for replay, Redis may still hold what it was meant to kill: don't read it.
        if (!_remembered.Blocks(key, type.Groups is not null))
        {
            OperationStatus status;
            if (type.Local is null)
            {
                var read = await _connection.ExecuteAsync(key, static (db, k) => db.StringGetLeaseAsync(k), (RedisKey)key, type.Name, deadline, "GET").ConfigureAwait(false);
                status = read.Status;
                readSlow = read.Slow;
                if (read.IsOk)
                {
                    using var lease = read.Value;
                    if (TryReadHit(type, id, lease is null ? default : lease.Span, lease is not null, fingerprint, out T? value, out observed))
                    {
                        return Hit(type, id, started, activity, value);
                    }
                }
            }
            else
            {
                // A type with L1 reads the key's remaining lifetime with it (GET and PTTL in one script, atomically): an L1
                // copy never outlives the Redis entry it was read from, so every bound on a Redis entry's life bounds its
                // copies.
                var read = await _connection.ExecuteAsync(key, static (db, k) => db.ScriptEvaluateAsync(Scripts.GetWithLifetime, [k]), (RedisKey)key, type.Name, deadline, "EVAL").ConfigureAwait(false);
                status = read.Status;
                readSlow = read.Slow;
                if (read.IsOk)
                {
                    var (stored, lifetime, wellFormed) = ReadWithLifetime(read.Value);
                    if (!wellFormed)
                    {
                        observed = ObservedState.Unknown;
                        status = OperationStatus.Failed;
                    }
                    else if (TryReadHit(type, id, stored, stored is not null, fingerprint, out T? value, out observed))
                    {
                        value = InstallLocal(type, id, ticket, value!, fingerprint, stored!.Length, lifetime, started);
                        return Hit(type, id, started, activity, value);
                    }
                }
            }

            if (status == OperationStatus.Ok)
            {
                outcome = observed.IsUnreadable ? ReadOutcome.UnreadableHealed : ReadOutcome.Miss;
            }
            else if (status == OperationStatus.DataError)
            {
                // The heal is the step before the epoch GET now: its slowness is what that step passes on.
                (observed, readSlow) = await HealWrongTypeAsync(type, key, id, deadline, readSlow).ConfigureAwait(false);
                outcome = ReadOutcome.UnreadableHealed;
            }
            else
            {
                outcome = CacheTracing.OutcomeOf(status);
            }
        }

        _metrics.Miss(type.Tag);
        CacheTracing.Read(activity, outcome);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            type.MissLog.Write(_logger, type.LogId(id));
        }

        try
        {
            return await LoadAsync(type, key, id, observed, fingerprint, state, loader, started, deadline, readSlow, activity, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (CacheTracing.Failed(activity, ex))
        {
            // Never reached: the filter records the loader's exception on the span and lets it pass unchanged.
            throw;
        }
        finally
        {
            _metrics.Duration(type.Tag, _time.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// The reply of <see cref="Scripts.GetWithLifetime"/>: the stored bytes (null when absent) and the remaining lifetime
    /// (null when the key has none); not well formed when the reply is not that shape (a server that answered something
    /// else: a miss without a copy, never an exception).
    /// </summary>
    private static (byte[]? Stored, TimeSpan? Lifetime, bool WellFormed) ReadWithLifetime(RedisResult reply)
    {
        if (reply.Resp2Type != ResultType.Array || reply.Length != 2 || reply[0].Resp2Type != ResultType.Integer)
        {
            return (null, null, false);
        }

        long milliseconds = (long)reply[0];
        var value = reply[1];
        byte[]? stored = value.IsNull ? null : value.Resp2Type == ResultType.BulkString ? (byte[]?)value : null;
        if (!value.IsNull && stored is null)
        {
            return (null, null, false);
        }

        return (stored, milliseconds > 0 ? TimeSpan.FromMilliseconds(milliseconds) : null, true);
    }

    /// <summary>Counts, traces and logs a hit read from Redis.</summary>
    private T? Hit<T>(CacheType<T> type, string id, long started, System.Diagnostics.Activity? activity, T? value)
    {
        _metrics.Hit(type.Tag);
        _metrics.Duration(type.Tag, _time.GetElapsedTime(started));
        CacheTracing.Read(activity, ReadOutcome.Hit);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            // Shortening a token id allocates: only when the line is written.
            type.HitLog.Write(_logger, type.LogId(id));
        }

        return value;
    }

    /// <summary>Classifies what GET returned. Spans cannot cross an await, hence a synchronous helper.</summary>
    private bool TryReadHit<T>(CacheType<T> type, string id, ReadOnlySpan<byte> stored, bool present, byte[]? fingerprint, out T? value, out ObservedState observed)
    {
        value = default;
        if (!present)
        {
            observed = ObservedState.Absent;
            return false;
        }

        switch (Envelope.Read(stored, out var storedFingerprint, out var json))
        {
            case EnvelopeKind.Tombstone:
                observed = ObservedState.Of(stored, unreadable: false);
                return false;
            case EnvelopeKind.Incompatible:
                return Unreadable(type, id, stored, "written by a newer format version", out observed);
            case EnvelopeKind.Corrupt:
                return Unreadable(type, id, stored, "not a BendCare.Cache entry", out observed);
            default:
                break;
        }

        if (fingerprint is not null && !CryptographicOperations.FixedTimeEquals(storedFingerprint, fingerprint))
        {
            Log.FingerprintMismatch(_logger, type.LogId(id));
            observed = ObservedState.Of(stored, unreadable: false);
            return false;
        }

        try
        {
            value = JsonSerializer.Deserialize(json, type.TypeInfo);
        }
        catch (JsonException)
        {
            return Unreadable(type, id, stored, "invalid JSON", out observed);
        }

        if (value is null)
        {
            return Unreadable(type, id, stored, "null JSON", out observed);
        }

        observed = default;
        return true;
    }

    private bool Unreadable<T>(CacheType<T> type, string id, ReadOnlySpan<byte> stored, string problem, out ObservedState observed)
    {
        _metrics.Unreadable(type.Tag);
        Log.UnreadableEntry(_logger, type.Name, type.LogId(id), problem);
        observed = ObservedState.Of(stored, unreadable: true);
        return false;
    }

    /// <summary>
    /// A foreign writer left a list/hash/... at our key. Delete it (only if it is still not a string) before the loader
    /// runs, so any invalidation that lands after the delete also lands after the load began and wins the compare-and-set.
    /// Returns the state that leaves, and whether the delete's reply was slow (the epoch GET after it passes that on).
    /// </summary>
    private async ValueTask<(ObservedState Observed, bool Slow)> HealWrongTypeAsync<T>(CacheType<T> type, string key, string id, long deadline, bool readSlow)
    {
        _metrics.Unreadable(type.Tag);
        Log.WrongTypeEntry(_logger, type.Name, type.LogId(id));
        var deleted = await _connection.ExecuteAsync(key, static (db, k) => db.ScriptEvaluateAsync(Scripts.DeleteIfNotString, [k]), (RedisKey)key, type.Name, deadline, "EVAL", readSlow ? (RedisKey?)key : null).ConfigureAwait(false);

        // Not deleted: someone wrote a string there meanwhile (an invalidation's tombstone); load without writing back.
        return (deleted.IsOk && (long)deleted.Value == 1 ? ObservedState.Absent : ObservedState.Unknown, deleted.Slow);
    }
}
