using BendCare.Cache.LocalCache;

namespace BendCare.Cache.CacheAside;

/// <summary>The opt-in in-process cache (L1): where reads look first, what they install, and how writes reach every instance's L1.</summary>
internal sealed partial class CacheAsideEngine
{
    private InvalidationBus? _bus;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Type, string? Id, string Key, bool Grouped), byte> _awaitingReplay = new();
    private BendCareLocalCacheOptions? _localOptions;
    private LocalCacheMetrics? _localMetrics;

    /// <summary>The invalidation channel, when L1 is enabled for any type (tests read it).</summary>
    internal InvalidationBus? Bus => _bus;

    /// <summary>This instance's in-process stores (tests read their sizes).</summary>
    internal IEnumerable<LocalStore> LocalStores => _bus?.Stores ?? [];

    /// <summary>Gives <paramref name="type"/> an in-process store when the options enable L1 for it (called once per type at start).</summary>
    public void UseLocalCache<T>(CacheType<T> type)
    {
        if (_bus is { } bus && _localOptions is { } options && type.LocalFlag != LocalCacheTypes.None && options.Types.HasFlag(type.LocalFlag))
        {
            type.Local = bus.AddStore(type.Name, options.MaxEntriesPerType, options.MaxBytesPerType);
        }
    }

    private void StartLocalCache(BendCareCacheOptions options)
    {
        if (options.IsEnabled && options.LocalCache.Types != LocalCacheTypes.None)
        {
            _localOptions = options.LocalCache;
            _localMetrics = new LocalCacheMetrics(_metrics.Meter);
            _bus = new InvalidationBus(_connection, options, _localMetrics, _logger, _time);
            _connection.RegisterBackgroundWork(RepublishReplayedAsync);
        }
    }

    /// <summary>A value from L1, when the type has one and holds a fresh value for the id.</summary>
    private bool TryLocalHit<T>(CacheType<T> type, string id, byte[]? fingerprint, out T? value)
    {
        if (type.Local is { } local && local.TryGet(id, fingerprint, out object? cached))
        {
            value = (T)cached!;
            _localMetrics?.Hit(type.Tag);
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>
    /// Installs what a read got from Redis (see <see cref="LocalStore.Install"/>) for the type's lifetime, never past the
    /// Redis entry's own remaining <paramref name="redisLifetime"/> (not installed when Redis reported none: our keys
    /// always expire, so the key changed between the GET and its PTTL), counted from <paramref name="sent"/> (before the
    /// request went out: the server measured its remaining lifetime later); returns the value to hand out.
    /// </summary>
    private T InstallLocal<T>(CacheType<T> type, string id, in InstallTicket ticket, T value, byte[]? fingerprint, int size, TimeSpan? redisLifetime, long sent)
    {
        if (type.Local is not { } local)
        {
            return value;
        }

        if (type.Freeze is { } freeze)
        {
            value = freeze(value);
        }

        if (redisLifetime is { } expiry && type.TtlFor(value, _time.GetUtcNow()) is { } lifetime)
        {
            var remaining = expiry - _time.GetElapsedTime(sent);
            if (remaining < lifetime)
            {
                lifetime = remaining;
            }

            local.Install(id, ticket, value!, fingerprint, size, lifetime, type.IsPermanent?.Invoke(value) == true);
        }

        return value;
    }

    /// <summary>
    /// After a write reached Redis (or was remembered): drops the id here and on every instance's L1, waiting for their
    /// acknowledgements (bounded). Nothing to do for a type without L1.
    /// </summary>
    private async ValueTask<InvalidationOutcome> ThenBroadcastAsync<T>(CacheType<T> type, string? id, ValueTask<InvalidationOutcome> write)
    {
        var outcome = await write.ConfigureAwait(false);
        if (_bus is { } bus)
        {
            if (!await bus.BroadcastAsync([(type.Name, id)], CancellationToken.None).ConfigureAwait(false))
            {
                outcome = NotBroadcast(type, outcome);
            }

            if (outcome == InvalidationOutcome.Remembered)
            {
                // Redis has not taken the write yet: an instance that dropped the value now may read the old one again
                // from Redis and install it. Once the replay has landed, the message goes out once more.
                _awaitingReplay[(type.Name, id, id is null ? type.Key(string.Empty) : type.Key(id), type.Groups is not null && id is null)] = 0;
            }
        }

        return outcome;
    }

    /// <summary>Background work: messages for writes whose replay has landed since (see <see cref="ThenBroadcastAsync"/>).</summary>
    private async Task RepublishReplayedAsync(CancellationToken cancellationToken)
    {
        if (_bus is not { } bus || _awaitingReplay.IsEmpty)
        {
            return;
        }

        var landed = new List<(string Type, string? Id)>();
        foreach (var pending in _awaitingReplay.Keys)
        {
            if (!_remembered.Blocks(pending.Key, pending.Grouped) && _awaitingReplay.TryRemove(pending, out _))
            {
                landed.Add((pending.Type, pending.Id));
            }
        }

        if (landed.Count > 0)
        {
            // If it cannot be published now, the bus keeps it and publishes it later by itself.
            await bus.BroadcastAsync(landed, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>After many writes of one type reached Redis: one message that drops them all everywhere.</summary>
    private async ValueTask<InvalidationOutcome> BroadcastManyAsync<T>(CacheType<T> type, IReadOnlyList<string> ids, InvalidationOutcome outcome)
    {
        var targets = new (string Type, string? Id)[ids.Count];
        for (int i = 0; i < ids.Count; i++)
        {
            targets[i] = (type.Name, ids[i]);
        }

        return await _bus!.BroadcastAsync(targets, CancellationToken.None).ConfigureAwait(false) ? outcome : NotBroadcast(type, outcome);
    }

    /// <summary>
    /// Redis took the write (or remembered it) but not the message: other instances' L1 may serve the old value until it
    /// goes out (retried in the background), as a remembered write leaves Redis until its replay.
    /// </summary>
    private InvalidationOutcome NotBroadcast<T>(CacheType<T> type, InvalidationOutcome outcome)
    {
        _metrics.LocalBroadcastRemembered(type.Name);
        return outcome == InvalidationOutcome.Applied ? InvalidationOutcome.Remembered : outcome;
    }

    /// <param name="type">The cache type.</param>
    /// <param name="id">The id to drop everywhere; <see langword="null"/> for every value of the type.</param>
    /// <param name="write">The Redis-side write.</param>
    /// <remarks>
    /// Every type's writes are broadcast while this instance has L1 at all, also types it does not keep itself, so an
    /// instance with other <see cref="BendCareLocalCacheOptions.Types"/> (a configuration changing during a deploy) does
    /// not leave the others' copies in place. An instance with L1 off altogether publishes nothing: see docs/freshness.md.
    /// </remarks>
    private ValueTask<InvalidationOutcome> WithBroadcast<T>(CacheType<T> type, string? id, ValueTask<InvalidationOutcome> write) =>
        _bus is not null ? ThenBroadcastAsync(type, id, write) : write;
}
