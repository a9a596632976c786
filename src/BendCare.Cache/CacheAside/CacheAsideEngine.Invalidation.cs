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
        WaitAsync(Traced(TracedOperation.Invalidate, type, id, (type, id), static (e, s) => e.WithBroadcast(s.type, s.id, e.InvalidateCoreAsync(s.type, s.id))), cancellationToken);

    /// <summary>Invalidates many keys at once: one single-key command each, all in flight together (pipelined).</summary>
    public ValueTask InvalidateManyAsync<T>(CacheType<T> type, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        WaitAsync(Traced(TracedOperation.InvalidateMany, type, id: null, (type, ids), static (e, s) => e.InvalidateManyCoreAsync(s.type, s.ids), ids.Count), cancellationToken);

    /// <summary>
    /// Invalidates <paramref name="owner"/>'s entry for <paramref name="id"/> and every value of <paramref name="members"/>
    /// in the group of the same id (a role's own entry and every user context holding the role), both in flight together.
    /// The group's part moves the epoch on (loads in flight drop their write-back), then tombstones every member the
    /// group's set lists; it has a span of its own, a child of the invalidation's. See docs/freshness.md.
    /// </summary>
    public ValueTask InvalidateWithGroupAsync<TOwner, TMember>(CacheType<TOwner> owner, string id, CacheType<TMember> members, CancellationToken cancellationToken)
    {
        var groups = members.Groups ?? throw new InvalidOperationException($"{members.Name} values do not belong to groups.");
        ForgetFlights<TMember>();
        return WaitAsync(
            Traced(TracedOperation.Invalidate, owner, id, (owner, id, members, groups), static async (e, s) =>
            {
                var own = e.WithBroadcast(s.owner, s.id, e.InvalidateCoreAsync(s.owner, s.id));

                // Every member value leaves every L1: which ones held the group only Redis knows.
                var fanOut = e.WithBroadcast(s.members, null, e.FanOutAsync(s.members, s.groups, s.id, s.owner.TraceIdAttribute));
                return Worst(await own.ConfigureAwait(false), await fanOut.ConfigureAwait(false));
            }),
            cancellationToken);
    }

    /// <summary>
    /// Writes a value unconditionally (an explicit <c>Set*</c>), after registering it in its groups. It changes the
    /// key's state, so loads in flight lose their compare-and-set. If Redis is unreachable a tombstone is remembered
    /// instead of the value: replaying a value later could overwrite something newer.
    /// </summary>
    public ValueTask SetAsync<T>(CacheType<T> type, string id, T value, byte[]? fingerprint, CancellationToken cancellationToken) =>
        WaitAsync(Traced(TracedOperation.Set, type, id, (type, id, value, fingerprint), static (e, s) => e.WithBroadcast(s.type, s.id, e.SetCoreAsync(s.type, s.id, s.value, s.fingerprint))), cancellationToken);

    /// <summary>
    /// Writes a value that must win over everything in flight and must survive an outage (a blacklisting): applied
    /// now, or remembered with its absolute expiry and replayed. It lives at least <see cref="CacheType{T}.MustWinLifetime"/>.
    /// With it, <paramref name="alsoInvalidate"/>'s entry under the same id is invalidated (a blacklisted token's payload).
    /// </summary>
    /// <param name="type">The cache type.</param>
    /// <param name="id">The validated id.</param>
    /// <param name="value">The value that must win.</param>
    /// <param name="lifetime">How long it should live; lengthened to <see cref="CacheType{T}.MustWinLifetime"/>.</param>
    /// <param name="operation">What the write is, for its span's name (<c>blacklist token_bl</c>).</param>
    /// <param name="alsoInvalidate">The type whose entry under the same id goes too.</param>
    /// <param name="cancellationToken">Ends the caller's wait only.</param>
    public ValueTask SetMustWinAsync<T, TOther>(CacheType<T> type, string id, T value, TimeSpan lifetime, TracedOperation operation, CacheType<TOther> alsoInvalidate, CancellationToken cancellationToken)
    {
        string key = type.Key(id);
        ForgetFlight(key);
        if (lifetime < type.MustWinLifetime)
        {
            lifetime = type.MustWinLifetime;
        }

        var bytes = Envelope.WriteValue(value, type.TypeInfo, fingerprint: default);
        var write = new ValueWrite(key, bytes, _time.GetUtcNow() + lifetime, type.Name, type.LogId(id));
        return WaitAsync(
            Traced(operation, type, id, (type, write, alsoInvalidate, id), static async (e, s) =>
            {
                var mustWin = e.WithBroadcast(s.type, s.id, e.ApplyOrRememberAsync(s.write));
                var other = e.Traced(TracedOperation.Invalidate, s.alsoInvalidate, s.id, (s.alsoInvalidate, s.id), static (e, s) => e.WithBroadcast(s.alsoInvalidate, s.id, e.InvalidateCoreAsync(s.alsoInvalidate, s.id)));
                return Worst(await mustWin.ConfigureAwait(false), await other.ConfigureAwait(false));
            }),
            cancellationToken);
    }

    /// <summary>The worse of two outcomes of one operation's parts: dropped, then remembered, then applied.</summary>
    private static InvalidationOutcome Worst(InvalidationOutcome a, InvalidationOutcome b) =>
        a == InvalidationOutcome.Disabled ? b : b == InvalidationOutcome.Disabled ? a : (InvalidationOutcome)Math.Max((int)a, (int)b);

    /// <summary>
    /// Runs a write under a span named after <paramref name="operation"/> and <paramref name="type"/> that ends when the
    /// write has been applied, remembered or dropped (not when the caller stops waiting), with its outcome. Untraced,
    /// it is the write itself.
    /// </summary>
    private ValueTask<InvalidationOutcome> Traced<T, TState>(
        TracedOperation operation,
        CacheType<T> type,
        string? id,
        TState state,
        Func<CacheAsideEngine, TState, ValueTask<InvalidationOutcome>> write,
        int? count = null) =>
        CacheTracing.IsEnabled ? TracedAsync(operation, type, id, state, write, count) : write(this, state);

    private async ValueTask<InvalidationOutcome> TracedAsync<T, TState>(
        TracedOperation operation,
        CacheType<T> type,
        string? id,
        TState state,
        Func<CacheAsideEngine, TState, ValueTask<InvalidationOutcome>> write,
        int? count)
    {
        // Started in an async method, so the caller's current activity is back when this returns.
        using var activity = CacheTracing.Start(type.SpanName(operation), type.Name, id is null ? null : type.TraceIdAttribute, id);
        var outcome = await write(this, state).ConfigureAwait(false);
        CacheTracing.Wrote(activity, outcome, count);
        return outcome;
    }

    /// <summary>A group invalidation under its own span, with the number of members it found.</summary>
    private async ValueTask<InvalidationOutcome> FanOutAsync<T>(CacheType<T> type, GroupIndex<T> groups, string groupId, string? groupIdAttribute)
    {
        using var activity = CacheTracing.Start(type.SpanName(TracedOperation.FanOut), type.Name, groupIdAttribute, groupId);
        var fanOut = new GroupInvalidation<T>(type, groups, groupId, groupId);
        var outcome = await ApplyOrRememberAsync(fanOut).ConfigureAwait(false);
        CacheTracing.Wrote(activity, outcome, fanOut.MembersFound);
        return outcome;
    }

    private async ValueTask<InvalidationOutcome> InvalidateManyCoreAsync<T>(CacheType<T> type, IReadOnlyList<string> ids)
    {
        var writes = new Task<InvalidationOutcome>[ids.Count];
        for (int i = 0; i < ids.Count; i++)
        {
            writes[i] = InvalidateCoreAsync(type, ids[i]).AsTask();
        }

        var outcome = InvalidationOutcome.Disabled;
        foreach (var one in await Task.WhenAll(writes).ConfigureAwait(false))
        {
            outcome = Worst(outcome, one);
        }

        // With L1, one message for them all once Redis has them (not one per id).
        return _bus is not null ? await BroadcastManyAsync(type, ids, outcome).ConfigureAwait(false) : outcome;
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
