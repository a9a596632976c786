using BendCare.Cache.Connection;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// Attack tests on disposing the deadline sweep while operations are in flight (host shutdown). Where the disposal
/// races the sweep's timer callback, it runs at one exact point of the sweep's pass (from inside a hook the pass calls
/// there), so the interleaving is the same on every run.
/// </summary>
public partial class OperationTimeoutTests
{
    [Fact]
    public void An_operation_the_sweep_holds_while_the_cache_is_disposed_still_ends()
    {
        // The sweep has taken the list (Dispose finds it empty) and pushes the operation back, not yet due: nothing
        // sweeps again (the timer is gone), so it waits for its reply, on an application's multiplexer that
        // multiplexer's own timeout: what disposal promises to end at once.
        var clock = new ManualClock();
        using var deadlines = new OperationDeadlines(clock, Tick, grace: TimeSpan.FromSeconds(1), complete: Inline);
        var operation = new DisposingWhenLookedAt(clock.At(TimeSpan.FromMilliseconds(100)), clock.Now, deadlines);
        deadlines.Track(operation);

        clock.Now = clock.At(Tick);
        deadlines.Sweep();

        Assert.True(operation.DisposedMeanwhile);
        Assert.Equal(1, operation.Expired);
    }

    [Fact]
    public async Task Disposing_the_cache_with_a_read_in_flight_reports_no_timeout_of_redis()
    {
        // Shutdown ends the read (the caller goes to its loader), but Redis was not slow: the read must not count as a
        // timeout of Redis (the timeouts metric an alarm watches, a failure for the breaker, a failure record).
        await using var rig = await Rig.StartAsync(threshold: 1000);
        var never = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = rig.Connection.ExecuteAsync("key", static (_, r) => r.Task, never, "test", rig.Connection.NewDeadline());

        await rig.Connection.DisposeAsync();
        var result = await pending;

        Assert.NotEqual(OperationStatus.Ok, result.Status);
        Assert.Equal(0, rig.Timeouts.Value);
    }

    /// <summary>An operation not yet done whose first <see cref="IsDone"/> check runs the disposal (another thread's, at that instant).</summary>
    private sealed class DisposingWhenLookedAt(long expiresAt, long sent, OperationDeadlines deadlines) : PendingOperation(expiresAt, sent)
    {
        public int Expired;

        public bool DisposedMeanwhile { get; private set; }

        public override bool IsDone
        {
            get
            {
                if (!DisposedMeanwhile)
                {
                    DisposedMeanwhile = true;
                    deadlines.Dispose();
                }

                return Expired > 0;
            }
        }

        public override void Expire() => Expired++;
    }
}
