using BendCare.Cache.LocalCache;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// Attacks on the verification window's bookkeeping, on a fake clock. A lapse (connection failed, multiplexer replaced,
/// heartbeat missing) is meant to end verification until a heartbeat sent on the new subscription comes back; the
/// subscription's message loop runs apart from the thread that reports the failure, and a replaced subscription's queue
/// is drained after it was dropped, so a heartbeat sent BEFORE the lapse can still be processed after it.
/// </summary>
public class LocalVerificationAttackTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(500);

    private readonly FakeTimeProvider _time = new();
    private readonly LocalVerification _verification;
    private readonly LocalStore _store;

    public LocalVerificationAttackTests()
    {
        _verification = new LocalVerification(_time, Window);
        _store = new LocalStore("role_perms", _verification, _time, maxEntries: 100, maxBytes: 10_000);
    }

    [Fact]
    public void A_heartbeat_sent_before_a_lapse_does_not_verify_the_instance_after_it()
    {
        _verification.Verify(_time.GetTimestamp());
        long sentBeforeTheFailure = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromMilliseconds(5));

        _verification.Lapse(); // the subscription's connection failed (or the multiplexer was replaced)
        _verification.Verify(sentBeforeTheFailure); // its queue still held this heartbeat

        // Unsubscribed now: an invalidation published from here on is neither delivered nor counted, so nothing read
        // from now on may be installed and served.
        _store.Install("k", _store.Begin("k"), "read after the lapse", null, 10, TimeSpan.FromMinutes(5), permanent: false);
        Assert.False(_verification.IsVerified);
        Assert.False(_store.TryGet("k", null, out _));
    }
}
