namespace BendCare.Cache.CacheAside;

/// <summary>
/// What a read saw at a key before its loader ran: the state a write-back must still find for its compare-and-set
/// to succeed. Every invalidation writes a unique tombstone, so "still the same bytes" means "no invalidation since".
/// </summary>
internal readonly struct ObservedState : IEquatable<ObservedState>
{
    private ObservedState(bool known, byte[]? bytes, bool unreadable)
    {
        IsKnown = known;
        Bytes = bytes;
        IsUnreadable = unreadable;
    }

    /// <summary>Redis was not read (unusable or failed): nothing may be written back.</summary>
    public static ObservedState Unknown => default;

    /// <summary>The key did not exist.</summary>
    public static ObservedState Absent => new(known: true, bytes: null, unreadable: false);

    public bool IsKnown { get; }

    /// <summary>The exact stored bytes; <see langword="null"/> when the key was absent.</summary>
    public byte[]? Bytes { get; }

    /// <summary>The stored bytes were corrupt, foreign or from an incompatible version: heal the key even without a value.</summary>
    public bool IsUnreadable { get; }

    public static ObservedState Of(ReadOnlySpan<byte> stored, bool unreadable) => new(known: true, stored.ToArray(), unreadable);

    public bool Equals(ObservedState other) =>
        IsKnown == other.IsKnown
        && (Bytes is null ? other.Bytes is null : other.Bytes is not null && Bytes.AsSpan().SequenceEqual(other.Bytes));

    public override bool Equals(object? obj) => obj is ObservedState other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(IsKnown, Bytes?.Length);
}
