using System.Collections.Concurrent;

namespace BendCare.Cache.LocalCache;

/// <summary>
/// One cache type's in-process entries. Bounded by entries and bytes (CLOCK eviction: an entry read since the hand
/// last passed gets a second chance). An entry is served only while it is provably fresh: installed in the current
/// verification generation and flush generation, with no invalidation of its id since the read that produced it
/// began (a stamp per id stripe), and within its lifetime. Permanent entries (a "blacklisted" answer) skip the
/// verification and flush checks: nothing can make them untrue.
/// </summary>
internal sealed class LocalStore
{
    private const int StripeCount = 1024;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Entry> _clock = new();
    private readonly int[] _stripes = new int[StripeCount];
    private readonly LocalVerification _verification;
    private readonly TimeProvider _time;
    private readonly int _maxEntries;
    private readonly long _maxBytes;
    private long _flushGeneration;
    private int _count;
    private int _queued;
    private long _bytes;
    private int _sweeping;

    public LocalStore(string typeName, LocalVerification verification, TimeProvider time, int maxEntries, long maxBytes)
    {
        TypeName = typeName;
        _verification = verification;
        _time = time;
        _maxEntries = maxEntries;
        _maxBytes = maxBytes;
        verification.Lapsed += Sweep;
    }

    public string TypeName { get; }

    /// <summary>Entries held (served or not yet swept).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The bytes the held entries were measured at (their serialised size).</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>
    /// Taken before the read that may install a value: what must not have moved by the time it installs. A read that
    /// starts unverified gets <see cref="InstallTicket.None"/>.
    /// </summary>
    public InstallTicket Begin(string id)
    {
        int stripe = StripeOf(id);
        int stamp = Volatile.Read(ref _stripes[stripe]);
        long flush = Volatile.Read(ref _flushGeneration);
        return _verification.CurrentIfVerified() is { } generation
            ? new InstallTicket(generation, flush, stripe, stamp)
            : InstallTicket.None;
    }

    /// <summary>The served value, when fresh; never allocates.</summary>
    public bool TryGet(string id, byte[]? fingerprint, out object? value)
    {
        if (_entries.TryGetValue(id, out var entry) && IsServable(entry, _time.GetTimestamp()) && FingerprintMatches(entry, fingerprint))
        {
            if (entry.Accessed == 0)
            {
                entry.Accessed = 1;
            }

            value = entry.Value;
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>
    /// Installs a value read from Redis unless anything the ticket pinned moved meanwhile. The entry carries the pinned
    /// stamps, so an invalidation that lands even a moment after this check still hides it (every read re-checks them).
    /// A permanent value needs no ticket: it is true whatever happened meanwhile.
    /// </summary>
    public void Install(string id, in InstallTicket ticket, object value, byte[]? fingerprint, int size, TimeSpan lifetime, bool permanent)
    {
        if ((!ticket.IsValid && !permanent) || lifetime <= TimeSpan.Zero || size > _maxBytes)
        {
            return;
        }

        var entry = new Entry(id, value, fingerprint, size, _time.GetTimestamp() + (long)(lifetime.TotalSeconds * _time.TimestampFrequency), ticket, permanent);
        if (!IsServable(entry))
        {
            return;
        }

        while (true)
        {
            if (_entries.TryGetValue(id, out var previous))
            {
                if (_entries.TryUpdate(id, entry, previous))
                {
                    Forget(previous);
                    break;
                }
            }
            else if (_entries.TryAdd(id, entry))
            {
                break;
            }
        }

        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _bytes, size);
        _clock.Enqueue(entry);
        Interlocked.Increment(ref _queued);
        EvictWhileOverBounds();
        CompactClock();
    }

    /// <summary>An invalidation of one id: moves its stripe's stamp (hiding it at once) and drops it.</summary>
    public void Invalidate(string id)
    {
        Interlocked.Increment(ref _stripes[StripeOf(id)]);
        if (_entries.TryRemove(id, out var removed))
        {
            Forget(removed);
        }
    }

    /// <summary>Every entry of the type at once (a role edit reaches user contexts this way): hides all, then sweeps.</summary>
    public void Flush()
    {
        Interlocked.Increment(ref _flushGeneration);
        Sweep();
    }

    private bool IsServable(Entry entry) => IsServable(entry, _time.GetTimestamp());

    /// <param name="entry">The entry.</param>
    /// <param name="now">The current timestamp, read once per check (a clock read costs as much as the rest of a hit).</param>
    private bool IsServable(Entry entry, long now)
    {
        if (now >= entry.ExpiresAt)
        {
            return false;
        }

        if (entry.Permanent)
        {
            return true;
        }

        return entry.Stamp == Volatile.Read(ref _stripes[entry.Stripe])
            && entry.FlushGeneration == Volatile.Read(ref _flushGeneration)
            && _verification.Allows(entry.Generation, now);
    }

    private static bool FingerprintMatches(Entry entry, byte[]? fingerprint) =>
        fingerprint is null || (entry.Fingerprint is { } stored && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(stored, fingerprint));

    /// <summary>Removes entries that can no longer be served (after a lapse or a flush), off the caller's thread.</summary>
    private void Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        _ = Task.Run(() =>
        {
            try
            {
                foreach (var pair in _entries)
                {
                    if (!IsServable(pair.Value) && _entries.TryRemove(pair))
                    {
                        Forget(pair.Value);
                    }
                }
            }
            finally
            {
                Volatile.Write(ref _sweeping, 0);
            }
        });
    }

    private void EvictWhileOverBounds()
    {
        // Bounded work per install: at most two passes of the hand over what is queued.
        int budget = (Volatile.Read(ref _count) * 2) + 16;
        while ((Volatile.Read(ref _count) > _maxEntries || Volatile.Read(ref _bytes) > _maxBytes) && budget-- > 0 && _clock.TryDequeue(out var candidate))
        {
            Interlocked.Decrement(ref _queued);
            if (!_entries.TryGetValue(candidate.Id, out var current) || !ReferenceEquals(current, candidate))
            {
                continue; // replaced or removed already: accounted for then
            }

            if (candidate.Accessed == 1 && IsServable(candidate))
            {
                candidate.Accessed = 0;
                _clock.Enqueue(candidate);
                Interlocked.Increment(ref _queued);
                continue;
            }

            if (_entries.TryRemove(new KeyValuePair<string, Entry>(candidate.Id, candidate)))
            {
                Forget(candidate);
            }
        }
    }

    /// <summary>
    /// Entries replaced or removed stay in the hand's queue until it passes them; re-installs of the same ids under the
    /// bounds would grow it for ever. When it holds more than twice the live entries, one pass drops the dead ones.
    /// </summary>
    private void CompactClock()
    {
        int budget = Volatile.Read(ref _queued);
        while (Volatile.Read(ref _queued) > (2 * Volatile.Read(ref _count)) + 64 && budget-- > 0 && _clock.TryDequeue(out var node))
        {
            if (_entries.TryGetValue(node.Id, out var current) && ReferenceEquals(current, node))
            {
                _clock.Enqueue(node); // alive: back in line, its second chance untouched
                continue;
            }

            Interlocked.Decrement(ref _queued);
        }
    }

    private void Forget(Entry entry)
    {
        Interlocked.Decrement(ref _count);
        Interlocked.Add(ref _bytes, -entry.Size);
    }

    private static int StripeOf(string id) => (int)((uint)StringComparer.Ordinal.GetHashCode(id) % StripeCount);

    private sealed class Entry(string id, object value, byte[]? fingerprint, int size, long expiresAt, InstallTicket ticket, bool permanent)
    {
        public string Id { get; } = id;

        public object Value { get; } = value;

        public byte[]? Fingerprint { get; } = fingerprint;

        public int Size { get; } = size;

        public long ExpiresAt { get; } = expiresAt;

        public long Generation { get; } = ticket.Generation;

        public long FlushGeneration { get; } = ticket.FlushGeneration;

        public int Stripe { get; } = ticket.Stripe;

        public int Stamp { get; } = ticket.Stamp;

        public bool Permanent { get; } = permanent;

        /// <summary>Set on a read, cleared by the eviction hand (a plain field: a lost update only costs a second chance).</summary>
        public int Accessed;
    }
}

/// <summary>What a read pinned before it went to Redis; see <see cref="LocalStore.Begin"/>.</summary>
internal readonly record struct InstallTicket(long Generation, long FlushGeneration, int Stripe, int Stamp)
{
    public static InstallTicket None => new(-1, -1, -1, -1);

    public bool IsValid => Stripe >= 0;
}
