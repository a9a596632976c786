using BendCare.Cache.Diagnostics;
using BendCare.Cache.Serialization;

namespace BendCare.Cache.CacheAside;

internal sealed partial class CacheAsideEngine
{
    /// <summary>
    /// Replaces the key's value with a unique tombstone, so no load that began earlier can write back. When Redis is
    /// unreachable the tombstone is remembered and replayed; the caller waits at most the operation timeout.
    /// </summary>
    /// <param name="type">The cache type.</param>
    /// <param name="id">The validated id.</param>
    /// <param name="cancellationToken">Ends the caller's wait only: the write is applied or remembered regardless.</param>
    public ValueTask InvalidateAsync<T>(CacheType<T> type, string id, CancellationToken cancellationToken) =>
        WaitAsync(WithBroadcast(type, id, InvalidateCoreAsync(type, id)), cancellationToken);

    /// <summary>Invalidates many keys at once: one single-key command each, all in flight together (pipelined).</summary>
    public ValueTask InvalidateManyAsync<T>(CacheType<T> type, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var writes = new Task<InvalidationOutcome>[ids.Count];
        for (int i = 0; i < ids.Count; i++)
        {
            writes[i] = InvalidateCoreAsync(type, ids[i]).AsTask();
        }

        // With L1, one message for them all once Redis has them (not one per id).
        var all = Task.WhenAll(writes);
        return WaitAsync(_bus is not null && type.Local is not null ? ThenBroadcastManyAsync(type, ids, all) : new ValueTask(all), cancellationToken);
    }

    /// <summary>
    /// Invalidates every value belonging to a group: moves the epoch on (loads in flight drop their write-back), then
    /// tombstones every member the group's set lists. See docs/freshness.md.
    /// </summary>
    public ValueTask InvalidateGroupAsync<T>(CacheType<T> type, string groupId, string logId, CancellationToken cancellationToken)
    {
        var groups = type.Groups ?? throw new InvalidOperationException($"{type.Name} values do not belong to groups.");
        ForgetFlights<T>();
        // Every value of the type leaves every L1: which ones held the group is known only to Redis.
        return WaitAsync(WithBroadcast(type, null, ApplyOrRememberAsync(new GroupInvalidation<T>(type, groups, groupId, logId))), cancellationToken);
    }

    /// <summary>
    /// Writes a value unconditionally (an explicit <c>Set*</c>), after registering it in its groups. It changes the
    /// key's state, so loads in flight lose their compare-and-set. If Redis is unreachable a tombstone is remembered
    /// instead of the value: replaying a value later could overwrite something newer.
    /// </summary>
    public ValueTask SetAsync<T>(CacheType<T> type, string id, T value, byte[]? fingerprint, CancellationToken cancellationToken) =>
        WaitAsync(WithBroadcast(type, id, SetCoreAsync(type, id, value, fingerprint)), cancellationToken);

    /// <summary>
    /// Writes a value that must win over everything in flight and must survive an outage (a blacklisting): applied
    /// now, or remembered with its absolute expiry and replayed. It lives at least <see cref="CacheType{T}.MustWinLifetime"/>.
    /// </summary>
    public ValueTask SetMustWinAsync<T>(CacheType<T> type, string id, T value, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        string key = type.Key(id);
        ForgetFlight(key);
        if (lifetime < type.MustWinLifetime)
        {
            lifetime = type.MustWinLifetime;
        }

        var bytes = Envelope.WriteValue(value, type.TypeInfo, fingerprint: default);
        return WaitAsync(WithBroadcast(type, id, ApplyOrRememberAsync(new ValueWrite(key, bytes, _time.GetUtcNow() + lifetime, type.Name, type.LogId(id)))), cancellationToken);
    }

    private ValueTask<InvalidationOutcome> InvalidateCoreAsync<T>(CacheType<T> type, string id, long deadline = 0)
    {
        string key = type.Key(id);
        ForgetFlight(key);
        return ApplyOrRememberAsync(new TombstoneWrite(key, type.MustWinLifetime, type.Name, type.LogId(id)), deadline);
    }

    private async ValueTask<InvalidationOutcome> SetCoreAsync<T>(CacheType<T> type, string id, T value, byte[]? fingerprint)
    {
        string key = type.Key(id);
        ForgetFlight(key);

        // Every step shares one operation timeout; what is owed when it runs out is remembered.
        long deadline = _connection.NewDeadline();
        TimeSpan? ttl = CacheableTtl(type.TtlFor(value, _time.GetUtcNow()));
        if (ttl is not { } lifetime)
        {
            // Not cacheable (an expired token's payload): make sure nothing older is served either.
            return await InvalidateCoreAsync(type, id, deadline).ConfigureAwait(false);
        }

        var bytes = Envelope.WriteValue(value, type.TypeInfo, fingerprint);
        if (type.Groups is { } groups && !await RegisterInGroupsAsync(type, groups, id, value, deadline).ConfigureAwait(false))
        {
            // A value a group invalidation cannot find must not be written: invalidate instead.
            return await InvalidateCoreAsync(type, id, deadline).ConfigureAwait(false);
        }

        var write = new ValueWrite(key, bytes, _time.GetUtcNow() + lifetime, type.Name, type.LogId(id));
        if (IsDisposed)
        {
            return Dropped(write, "the cache is disposed");
        }

        if ((await write.ApplyAsync(_connection, _time, _logger, deadline).ConfigureAwait(false)).Count == 0)
        {
            return Outcome(write, InvalidationOutcome.Applied);
        }

        var tombstone = new TombstoneWrite(key, type.MustWinLifetime, type.Name, type.LogId(id));
        return _remembered.Remember(tombstone) ? Outcome(tombstone, InvalidationOutcome.Remembered) : Dropped(tombstone, "too many invalidations remembered");
    }

    private async ValueTask<InvalidationOutcome> ApplyOrRememberAsync(FreshnessWrite write, long deadline = 0)
    {
        if (!_connection.IsEnabled)
        {
            return InvalidationOutcome.Disabled;
        }

        if (IsDisposed)
        {
            return Dropped(write, "the cache is disposed");
        }

        if (deadline == 0)
        {
            deadline = _connection.NewDeadline();
        }

        var left = await write.ApplyAsync(_connection, _time, _logger, deadline).ConfigureAwait(false);
        if (write.Incomplete)
        {
            return Dropped(write, "the role's member set held a foreign value");
        }

        if (left.Count == 0)
        {
            return Outcome(write, InvalidationOutcome.Applied);
        }

        bool remembered = true;
        foreach (var step in left)
        {
            remembered &= _remembered.Remember(step);
        }

        return remembered ? Outcome(write, InvalidationOutcome.Remembered) : Dropped(write, "too many invalidations remembered");
    }

    private InvalidationOutcome Outcome(FreshnessWrite write, InvalidationOutcome outcome)
    {
        _metrics.Invalidation(write.CacheType, outcome);
        if (outcome == InvalidationOutcome.Applied)
        {
            Log.InvalidationApplied(_logger, write.CacheType, write.LogId);
        }

        return outcome;
    }

    private InvalidationOutcome Dropped(FreshnessWrite write, string reason)
    {
        _metrics.Invalidation(write.CacheType, InvalidationOutcome.Dropped);
        Log.InvalidationDropped(_logger, write.CacheType, write.LogId, reason);
        return InvalidationOutcome.Dropped;
    }

    /// <summary>
    /// The write goes on whatever the token does — the database has changed already, so it is applied or remembered —
    /// and the token only ends the caller's wait for it.
    /// </summary>
    private static ValueTask WaitAsync(ValueTask<InvalidationOutcome> write, CancellationToken cancellationToken)
    {
        if (write.IsCompletedSuccessfully)
        {
            return default;
        }

        return WaitAsync(new ValueTask(write.AsTask()), cancellationToken);
    }

    private static ValueTask WaitAsync(ValueTask write, CancellationToken cancellationToken)
    {
        if (write.IsCompletedSuccessfully || !cancellationToken.CanBeCanceled)
        {
            return write;
        }

        return new ValueTask(write.AsTask().WaitAsync(cancellationToken));
    }

    /// <summary>A TTL Redis can take: under a millisecond would be sent as <c>PX 0</c>, which the server refuses.</summary>
    private static TimeSpan? CacheableTtl(TimeSpan? ttl) => ttl >= TimeSpan.FromMilliseconds(1) ? ttl : null;
}
