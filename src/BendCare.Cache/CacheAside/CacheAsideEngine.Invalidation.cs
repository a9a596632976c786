using BendCare.Cache.Serialization;

namespace BendCare.Cache.CacheAside;

internal sealed partial class CacheAsideEngine
{
    /// <summary>
    /// Replaces the key's value with a unique tombstone, so no load that began earlier can write back. When Redis is
    /// unreachable the tombstone is remembered and replayed; the caller waits at most the operation timeout (a role
    /// invalidation: three awaited steps, so at most three times it).
    /// </summary>
    public ValueTask InvalidateAsync<T>(CacheEntry<T> entry, string id)
    {
        string key = entry.Key(id);
        ForgetFlight(key);
        return ApplyOrRememberAsync(new TombstoneWrite(key, entry.MaxTtl, entry.Name, entry.LogId(id)));
    }

    /// <summary>Invalidates many keys at once: one single-key command each, all in flight together (pipelined).</summary>
    public async ValueTask InvalidateManyAsync<T>(CacheEntry<T> entry, IReadOnlyList<string> ids)
    {
        var writes = new Task[ids.Count];
        for (int i = 0; i < ids.Count; i++)
        {
            writes[i] = InvalidateAsync(entry, ids[i]).AsTask();
        }

        await Task.WhenAll(writes).ConfigureAwait(false);
    }

    /// <summary>
    /// Invalidates every value belonging to a group: bumps the epoch (loads in flight drop their write-back), then
    /// tombstones every member the group's set lists. See docs/freshness.md.
    /// </summary>
    public ValueTask InvalidateGroupAsync<T>(CacheEntry<T> entry, string groupId, string logId)
    {
        var groups = entry.Groups ?? throw new InvalidOperationException($"{entry.Name} values do not belong to groups.");
        ForgetFlights<T>();
        return ApplyOrRememberAsync(new GroupInvalidation<T>(entry, groups, groupId, logId));
    }

    /// <summary>
    /// Writes a value unconditionally (an explicit <c>Set*</c>), after registering it in its groups. It changes the
    /// key's state, so loads in flight lose their compare-and-set. If Redis is unreachable a tombstone is remembered
    /// instead of the value: replaying a value later could overwrite something newer.
    /// </summary>
    public async ValueTask SetAsync<T>(CacheEntry<T> entry, string id, T value, byte[]? fingerprint)
    {
        string key = entry.Key(id);
        ForgetFlight(key);
        TimeSpan? ttl = entry.TtlFor(value, _time.GetUtcNow());
        if (ttl is not { } lifetime || lifetime <= TimeSpan.Zero)
        {
            // Not cacheable (an expired token's payload): make sure nothing older is served either.
            await InvalidateAsync(entry, id).ConfigureAwait(false);
            return;
        }

        var bytes = Envelope.WriteValue(value, entry.TypeInfo, fingerprint);
        if (entry.Groups is { } groups)
        {
            // A value a group invalidation cannot find must not be written: if any registration fails, invalidate instead.
            var groupIds = groups.GroupsOf(value);
            var adds = new Task<bool>[groupIds.Count];
            for (int i = 0; i < adds.Length; i++)
            {
                adds[i] = AddToGroupAsync(entry, groups, groupIds[i], id).AsTask();
            }

            if (!(await Task.WhenAll(adds).ConfigureAwait(false)).All(static added => added))
            {
                await InvalidateAsync(entry, id).ConfigureAwait(false);
                return;
            }
        }

        var write = new ValueWrite(key, bytes, _time.GetUtcNow() + lifetime, entry.Name, entry.LogId(id));
        if (!await write.ApplyAsync(_connection, _time).ConfigureAwait(false))
        {
            Remember(new TombstoneWrite(key, entry.MaxTtl, entry.Name, entry.LogId(id)));
        }
    }

    /// <summary>
    /// Writes a value that must win over everything in flight and must survive an outage (a blacklisting): applied
    /// now, or remembered with its absolute expiry and replayed.
    /// </summary>
    public ValueTask SetMustWinAsync<T>(CacheEntry<T> entry, string id, T value, TimeSpan lifetime)
    {
        string key = entry.Key(id);
        ForgetFlight(key);
        var bytes = Envelope.WriteValue(value, entry.TypeInfo, fingerprint: default);
        return ApplyOrRememberAsync(new ValueWrite(key, bytes, _time.GetUtcNow() + lifetime, entry.Name, entry.LogId(id)));
    }

    private async ValueTask ApplyOrRememberAsync(PendingWrite write)
    {
        if (!_connection.IsEnabled)
        {
            return;
        }

        if (!await write.ApplyAsync(_connection, _time).ConfigureAwait(false))
        {
            Remember(write);
        }
    }

    private void Remember(PendingWrite write)
    {
        if (_connection.IsEnabled)
        {
            _pending.Remember(write);
        }
    }
}
