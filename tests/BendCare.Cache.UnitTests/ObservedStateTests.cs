using BendCare.Cache.CacheAside;

namespace BendCare.Cache.UnitTests;

public class ObservedStateTests
{
    [Fact]
    public void Unknown_is_the_default_and_not_known()
    {
        Assert.False(ObservedState.Unknown.IsKnown);
        Assert.Null(ObservedState.Unknown.Bytes);
        Assert.True(ObservedState.Unknown.Equals(default(ObservedState)));
    }

    [Fact]
    public void Absent_is_known_without_bytes()
    {
        Assert.True(ObservedState.Absent.IsKnown);
        Assert.Null(ObservedState.Absent.Bytes);
        Assert.False(ObservedState.Absent.IsUnreadable);
    }

    [Fact]
    public void Unknown_equals_unknown_and_absent_equals_absent()
    {
        Assert.True(ObservedState.Unknown.Equals(ObservedState.Unknown));
        Assert.True(ObservedState.Absent.Equals(ObservedState.Absent));
    }

    [Fact]
    public void Unknown_does_not_equal_absent()
    {
        Assert.False(ObservedState.Unknown.Equals(ObservedState.Absent));
        Assert.False(ObservedState.Absent.Equals(ObservedState.Unknown));
    }

    [Fact]
    public void States_with_the_same_bytes_in_different_arrays_are_equal_with_equal_hash_codes()
    {
        var a = ObservedState.Of([1, 2, 3], unreadable: false);
        var b = ObservedState.Of(new byte[] { 1, 2, 3 }, unreadable: false);

        Assert.True(a.Equals(b));
        Assert.True(a.Equals((object)b));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void Of_copies_the_bytes_so_later_changes_to_the_source_do_not_affect_it()
    {
        byte[] source = [1, 2, 3];
        var state = ObservedState.Of(source, unreadable: false);

        source[0] = 9;

        Assert.Equal(new byte[] { 1, 2, 3 }, state.Bytes);
    }

    [Fact]
    public void States_with_different_bytes_are_not_equal()
    {
        Assert.False(ObservedState.Of([1, 2, 3], false).Equals(ObservedState.Of([1, 2, 4], false)));
        Assert.False(ObservedState.Of([1, 2, 3], false).Equals(ObservedState.Of([1, 2], false)));
    }

    [Fact]
    public void Two_distinct_tombstones_are_not_equal()
    {
        var a = ObservedState.Of(Serialization.Envelope.NewTombstone(), unreadable: false);
        var b = ObservedState.Of(Serialization.Envelope.NewTombstone(), unreadable: false);

        Assert.False(a.Equals(b));
    }

    [Fact]
    public void Present_bytes_do_not_equal_absent_or_unknown()
    {
        var present = ObservedState.Of([1], unreadable: false);

        Assert.False(present.Equals(ObservedState.Absent));
        Assert.False(ObservedState.Absent.Equals(present));
        Assert.False(present.Equals(ObservedState.Unknown));
    }

    [Fact]
    public void An_empty_stored_value_is_not_the_same_state_as_an_absent_key()
    {
        var empty = ObservedState.Of([], unreadable: false);

        Assert.True(empty.IsKnown);
        Assert.NotNull(empty.Bytes);
        Assert.False(empty.Equals(ObservedState.Absent));
    }

    [Fact]
    public void Equality_compares_the_bytes_seen_not_the_unreadable_flag()
    {
        // The flag is derived from the bytes, so the same bytes always carry the same flag in practice.
        var readable = ObservedState.Of([1, 2], unreadable: false);
        var unreadable = ObservedState.Of([1, 2], unreadable: true);

        Assert.True(unreadable.IsUnreadable);
        Assert.True(readable.Equals(unreadable));
    }

    [Fact]
    public void Equals_object_is_false_for_other_types_and_null()
    {
        Assert.False(ObservedState.Absent.Equals((object?)null));
        Assert.False(ObservedState.Absent.Equals("absent"));
    }
}
