using System.Diagnostics.Metrics;
using BendCare.Cache.Configuration;
using BendCare.Cache.Connection;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// Attacks on the deadline sweep's logic, on fake time (the rig and clock of <see cref="OperationTimeoutTests"/>): each
/// is a case the sweep's design does not cover, and fails while the gap is open.
/// </summary>
public partial class OperationTimeoutTests
{
    /// <summary>
    /// The options accept any positive <c>OperationTimeout</c> up to 10 s. At 1 ms the deadline is set 10 % early and
    /// then one sweep tick (at least 1 ms) earlier still: before the request is sent. Every request-path read is then
    /// "out of time" before it is sent, even when the reply would be there at once: the cache serves no hit at all, and
    /// nothing says so. (A timer per operation waited the 0.9 ms.)
    /// </summary>
    [Fact]
    public async Task With_the_smallest_operation_timeout_the_options_accept_a_reply_that_is_already_there_is_read()
    {
        var timeout = TimeSpan.FromMilliseconds(1);
        Assert.True(new BendCareCacheOptionsValidator().Validate(null, new BendCareCacheOptions { Host = "cache.invalid", OperationTimeout = timeout }).Succeeded);
        await using var rig = await Rig.StartAsync(operationTimeout: timeout);

        var result = await rig.Connection.ExecuteAsync("key", static (_, _) => Task.FromResult(true), 0, "test", rig.Connection.NewDeadline());

        Assert.Equal(OperationStatus.Ok, result.Status);
    }

    /// <summary>
    /// A periodic timer fires at the system timer's resolution, not at its period: 15.625 ms on Windows by default for
    /// the 5 ms tick of the default 150 ms timeout; about 4 ms on this Linux machine for the 1 ms tick of a 20 ms
    /// timeout (measured: a 1 ms periodic <c>TimeProvider.System</c> timer fires every 4.3 ms at the median). The sweep
    /// counts every sweep that runs more than a tick (at least 2 ms) after it was due as time the process ran late, so
    /// on such a clock it counts lateness on every sweep of a process that never ran late, and extends every deadline
    /// by it: an operation with no reply is expired well past the first sweep after its deadline (here at 156 ms
    /// instead of 109 ms, and at 24 ms instead of 20 ms).
    /// </summary>
    [Theory]
    [InlineData(5, 15.625, 100, 109.375)]
    [InlineData(1, 4, 17, 20)]
    public void A_sweep_timer_firing_at_the_system_timer_resolution_is_not_lateness_of_the_process(double tickMs, double resolutionMs, double deadlineMs, double firstSweepPastDeadlineMs)
    {
        var clock = new ManualClock();
        using var deadlines = new OperationDeadlines(clock, TimeSpan.FromMilliseconds(tickMs), grace: TimeSpan.FromSeconds(1), complete: Inline);
        var operation = new Recorded(clock.At(TimeSpan.FromMilliseconds(deadlineMs)), clock.Now);
        deadlines.Track(operation);

        var at = TimeSpan.Zero;
        while (operation.Expired == 0 && at < TimeSpan.FromSeconds(2))
        {
            at += TimeSpan.FromMilliseconds(resolutionMs);
            clock.Now = clock.At(at);
            deadlines.Sweep();
        }

        Assert.Equal(firstSweepPastDeadlineMs, at.TotalMilliseconds, precision: 3);
    }

    /// <summary>
    /// The sweep completes the operations it expired in a loop on the timer's thread, and each completion runs code
    /// that is not the sweep's: the timeout is counted (a <see cref="Meter"/> instrument, whose listeners are the
    /// application's) and logged, and the caller's continuation runs inline. One listener that throws once stops the
    /// loop: the operation it threw for never completes (it is already marked done, so even its late reply cannot
    /// complete it: its caller waits for ever), the operations after it in the loop wait for a late reply (on a
    /// blackholed server: the client's own timeout), and the exception leaves the timer's callback (on a real timer, an
    /// unhandled exception on a thread-pool thread ends the process). With a timer per operation the exception reached
    /// one caller's await.
    /// </summary>
    [Fact]
    public async Task A_metrics_listener_that_throws_once_strands_no_operation_timed_out_in_the_same_sweep()
    {
        await using var rig = await Rig.StartAsync(threshold: 1000);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, rig.Metrics.Meter) && instrument.Name == "bendcare.cache.redis.timeouts")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        int thrown = 0;
        listener.SetMeasurementEventCallback<long>((_, _, _, _) =>
        {
            if (Interlocked.Exchange(ref thrown, 1) == 0)
            {
                throw new InvalidOperationException("a metrics exporter failed once");
            }
        });
        listener.Start();
        var replies = Enumerable.Range(0, 2).Select(_ => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var pending = replies.Select(r => rig.Connection.ExecuteAsync("key", static (_, s) => s.Task, r, "test", rig.Connection.NewDeadline()).AsTask()).ToArray();

        var escaped = Record.Exception(() => AdvanceTickByTick(rig.Time, Options.OperationTimeout * 2));
        foreach (var reply in replies)
        {
            reply.TrySetResult(true); // late replies: they must not be needed, but give them every chance
        }

        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(TimeSpan.FromSeconds(5)));
        Assert.True(pending.All(static p => p.IsCompleted), $"{pending.Count(static p => !p.IsCompleted)} of {pending.Length} operations never completed (escaped the sweep: {escaped?.GetType().Name ?? "nothing"})");
        Assert.Null(escaped);
    }
}
