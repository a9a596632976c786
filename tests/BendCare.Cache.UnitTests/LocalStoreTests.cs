using BendCare.Cache.LocalCache;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// The in-process store's freshness rules, on a fake clock: what a read may install, what makes an entry invisible at
/// once (an invalidation of its key, a flush, a lapse of verification, its lifetime), and its bounds.
/// </summary>
public class LocalStoreTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private readonly FakeTimeProvider _time = new();
    private readonly LocalVerification _verification;
    private readonly LocalStore _store;

    public LocalStoreTests()
    {
        _verification = new LocalVerification(_time, Window);
        _store = new LocalStore("role_perms", _verification, _time, maxEntries: 100, maxBytes: 10_000);
    }

    [Fact]
    public void Nothing_is_installed_or_served_before_the_first_heartbeat_comes_back()
    {
        var ticket = _store.Begin("k");
        _store.Install("k", ticket, "v", null, 10, Lifetime, permanent: false);
        Assert.False(_store.TryGet("k", null, out _));

        Verify();
        Assert.False(_store.TryGet("k", null, out _));
    }

    [Fact]
    public void A_value_installed_while_verified_is_served_until_the_window_closes()
    {
        Verify();
        Install("k", "v");
        Assert.True(_store.TryGet("k", null, out var value));
        Assert.Equal("v", value);

        _time.Advance(Window);
        Assert.False(_store.TryGet("k", null, out _));
    }

    [Fact]
    public void An_invalidation_during_the_read_keeps_its_value_out()
    {
        Verify();
        var ticket = _store.Begin("k");
        _store.Invalidate("k");
        _store.Install("k", ticket, "old", null, 10, Lifetime, permanent: false);
        Assert.False(_store.TryGet("k", null, out _));
    }

    [Fact]
    public void An_invalidation_hides_an_installed_value_at_once()
    {
        Verify();
        Install("k", "v");
        _store.Invalidate("k");
        Assert.False(_store.TryGet("k", null, out _));
    }

    [Fact]
    public void A_flush_hides_every_value_and_keeps_reads_begun_before_it_from_installing()
    {
        Verify();
        Install("a", "1");
        var ticket = _store.Begin("b");
        _store.Flush();
        _store.Install("b", ticket, "2", null, 10, Lifetime, permanent: false);
        Assert.False(_store.TryGet("a", null, out _));
        Assert.False(_store.TryGet("b", null, out _));
    }

    [Fact]
    public void A_lapse_hides_everything_installed_before_it_even_once_verified_again()
    {
        Verify();
        Install("k", "v");
        var ticket = _store.Begin("j");
        _time.Advance(Window + TimeSpan.FromMilliseconds(1));
        Verify(); // the window had closed: a lapse first, then a new window
        _store.Install("j", ticket, "w", null, 10, Lifetime, permanent: false);

        Assert.False(_store.TryGet("k", null, out _));
        Assert.False(_store.TryGet("j", null, out _));
        Install("k", "v2");
        Assert.True(_store.TryGet("k", null, out var value));
        Assert.Equal("v2", value);
    }

    [Fact]
    public void A_heartbeat_in_time_extends_the_window_without_a_lapse()
    {
        Verify();
        Install("k", "v");
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Verify();
        _time.Advance(TimeSpan.FromMilliseconds(450));
        Assert.True(_store.TryGet("k", null, out _));
    }

    [Fact]
    public void A_permanent_value_is_served_while_unverified_and_needs_no_ticket()
    {
        _store.Install("k", InstallTicket.None, true, null, 4, Lifetime, permanent: true);
        Assert.True(_store.TryGet("k", null, out var value));
        Assert.Equal(true, value);

        _time.Advance(Lifetime);
        Assert.False(_store.TryGet("k", null, out _));
    }

    [Fact]
    public void A_value_bound_to_a_fingerprint_is_served_only_with_it()
    {
        Verify();
        byte[] fingerprint = [1, 2, 3];
        _store.Install("k", _store.Begin("k"), "v", fingerprint, 10, Lifetime, permanent: false);
        Assert.True(_store.TryGet("k", [1, 2, 3], out _));
        Assert.False(_store.TryGet("k", [1, 2, 4], out _));
        Assert.True(_store.TryGet("k", null, out _)); // the id-only getter does not check, as on the Redis path
    }

    [Fact]
    public void Entries_and_bytes_stay_within_bounds_and_recently_read_entries_survive()
    {
        Verify();
        for (int i = 0; i < 50; i++)
        {
            Install("hot" + i, i);
        }

        for (int i = 0; i < 1000; i++)
        {
            for (int h = 0; h < 50; h += 10)
            {
                _store.TryGet("hot" + h, null, out _);
            }

            Install("cold" + i, i);
            Assert.InRange(_store.Count, 1, 100);
            Assert.InRange(_store.Bytes, 1, 10_000);
        }

        Assert.True(_store.TryGet("hot0", null, out _));
        Assert.True(_store.TryGet("hot40", null, out _));
    }

    [Fact]
    public void A_value_larger_than_the_byte_bound_is_not_kept()
    {
        Verify();
        _store.Install("k", _store.Begin("k"), "v", null, 10_001, Lifetime, permanent: false);
        Assert.Equal(0, _store.Count);
    }

    [Fact]
    public void Messages_survive_encoding()
    {
        var message = BusMessage.Invalidation("A1", 42, [("role_perms", "bcos:role_perms:r|1 ;x"), ("user_context", null)]);
        Assert.True(BusMessage.TryDecode(message.Encode(), out var decoded));
        Assert.Equal(BusMessageKind.Invalidation, decoded.Kind);
        Assert.Equal("A1", decoded.Sender);
        Assert.Equal(42, decoded.Number);
        Assert.Equal([("role_perms", "bcos:role_perms:r|1 ;x"), ("user_context", (string?)null)], decoded.Targets);

        Assert.True(BusMessage.TryDecode(BusMessage.Heartbeat("B", 7).Encode(), out var heartbeat));
        Assert.Equal((BusMessageKind.Heartbeat, "B", 7L), (heartbeat.Kind, heartbeat.Sender, heartbeat.Number));
    }

    [Theory]
    [InlineData("")]
    [InlineData("X\nA\n1")]
    [InlineData("H\nA")]
    [InlineData("H\nA\n-1")]
    [InlineData("H\nA\n1\nextra\nfields")]
    [InlineData("I\nA\n1\nodd")]
    public void Foreign_messages_on_the_channel_are_ignored(string text) => Assert.False(BusMessage.TryDecode(text, out _));

    private void Verify() => _verification.Verify(_time.GetTimestamp());

    private void Install(string key, object value) => _store.Install(key, _store.Begin(key), value, null, 10, Lifetime, permanent: false);
}
