using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.Serialization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

internal sealed partial class CacheAsideEngine
{
    /// <summary>
    /// The request path: one GET; on a hit, deserialise from the pooled lease and return; otherwise load through the
    /// single-flight and write back in the background. Never throws because of Redis; rethrows the loader's exceptions.
    /// </summary>
    /// <param name="entry">The cache type.</param>
    /// <param name="id">The validated id.</param>
    /// <param name="fingerprint">When set, a hit must carry exactly this fingerprint (JWT payloads bound to their token).</param>
    /// <param name="state">Passed to the loader, so a caller needs no closure (nothing allocated on a hit).</param>
    /// <param name="loader">The caller's database read.</param>
    /// <param name="cancellationToken">Cancels the wait; passed to the loader.</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<T?> GetOrLoadAsync<T, TState>(
        CacheEntry<T> entry,
        string id,
        byte[]? fingerprint,
        TState state,
        Func<TState, CancellationToken, ValueTask<T?>> loader,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long started = _time.GetTimestamp();
        string key = entry.Key(id);
        var observed = ObservedState.Unknown;

        // Every Redis step before the loader (GET, healing a foreign value, the epoch GET) shares one operation timeout.
        long deadline = _connection.NewDeadline();

        // While an invalidation of this key waits for replay, Redis may still hold what it was meant to kill: don't read it.
        if (!_pending.Blocks(key, entry.Groups is not null))
        {
            var read = await _connection.ExecuteAsync(key, static (db, k) => db.StringGetLeaseAsync(k), (RedisKey)key, entry.Name, deadline).ConfigureAwait(false);
            if (read.IsOk)
            {
                using var lease = read.Value;
                if (TryReadHit(entry, id, lease, fingerprint, out T? value, out observed))
                {
                    _metrics.Hit(entry.Tag);
                    _metrics.Duration(entry.Tag, _time.GetElapsedTime(started));
                    if (_logger.IsEnabled(LogLevel.Debug))
                    {
                        // Shortening a token id allocates: only when the line is written.
                        entry.HitLog(_logger, entry.LogId(id));
                    }

                    return value;
                }
            }
            else if (read.Status == OperationStatus.DataError)
            {
                observed = await HealWrongTypeAsync(entry, key, id, deadline).ConfigureAwait(false);
            }
        }

        _metrics.Miss(entry.Tag);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            entry.MissLog(_logger, entry.LogId(id));
        }

        try
        {
            return await LoadAsync(entry, key, id, observed, fingerprint, state, loader, started, deadline, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _metrics.Duration(entry.Tag, _time.GetElapsedTime(started));
        }
    }

    /// <summary>The same for a loader without state.</summary>
    public ValueTask<T?> GetOrLoadAsync<T>(CacheEntry<T> entry, string id, byte[]? fingerprint, Func<CancellationToken, ValueTask<T?>> loader, CancellationToken cancellationToken) =>
        GetOrLoadAsync(entry, id, fingerprint, loader, static (load, ct) => load(ct), cancellationToken);

    /// <summary>Classifies what GET returned. Spans cannot cross an await, hence a synchronous helper.</summary>
    private bool TryReadHit<T>(CacheEntry<T> entry, string id, Lease<byte>? lease, byte[]? fingerprint, out T? value, out ObservedState observed)
    {
        value = default;
        if (lease is null)
        {
            observed = ObservedState.Absent;
            return false;
        }

        var stored = lease.Span;
        switch (Envelope.Read(stored, out var storedFingerprint, out var json))
        {
            case EnvelopeKind.Tombstone:
                observed = ObservedState.Of(stored, unreadable: false);
                return false;
            case EnvelopeKind.Incompatible:
                return Unreadable(entry, id, stored, "written by a newer format version", out observed);
            case EnvelopeKind.Corrupt:
                return Unreadable(entry, id, stored, "not a BendCare.Cache entry", out observed);
            default:
                break;
        }

        if (fingerprint is not null && !CryptographicOperations.FixedTimeEquals(storedFingerprint, fingerprint))
        {
            Log.FingerprintMismatch(_logger, entry.LogId(id));
            observed = ObservedState.Of(stored, unreadable: false);
            return false;
        }

        try
        {
            value = JsonSerializer.Deserialize(json, entry.TypeInfo);
        }
        catch (JsonException)
        {
            return Unreadable(entry, id, stored, "invalid JSON", out observed);
        }

        if (value is null)
        {
            return Unreadable(entry, id, stored, "null JSON", out observed);
        }

        observed = default;
        return true;
    }

    private bool Unreadable<T>(CacheEntry<T> entry, string id, ReadOnlySpan<byte> stored, string problem, out ObservedState observed)
    {
        _metrics.Unreadable(entry.Tag);
        Log.UnreadableEntry(_logger, entry.Name, entry.LogId(id), problem);
        observed = ObservedState.Of(stored, unreadable: true);
        return false;
    }

    /// <summary>
    /// A foreign writer left a list/hash/... at our key. Delete it (only if it is still not a string) before the loader
    /// runs, so any invalidation that lands after the delete also lands after the load began and wins the compare-and-set.
    /// </summary>
    private async ValueTask<ObservedState> HealWrongTypeAsync<T>(CacheEntry<T> entry, string key, string id, long deadline)
    {
        _metrics.Unreadable(entry.Tag);
        Log.WrongTypeEntry(_logger, entry.Name, entry.LogId(id));
        var deleted = await _connection.ExecuteAsync(key, static (db, k) => db.ScriptEvaluateAsync(Scripts.DeleteIfNotString, [k]), (RedisKey)key, entry.Name, deadline).ConfigureAwait(false);

        // Not deleted: someone wrote a string there meanwhile (an invalidation's tombstone); load without writing back.
        return deleted.IsOk && (long)deleted.Value == 1 ? ObservedState.Absent : ObservedState.Unknown;
    }
}
