using System.Diagnostics.Metrics;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// The operation timeout of every guarded operation, enforced by one sweep for every operation in flight. A reply that has arrived
/// by the time the timeout is handled is a success: on a busy machine the continuation runs late, not Redis, and the
/// breaker must not open for it. Time is a <see cref="FakeTimeProvider"/>; replies are completed by the test.
/// </summary>
public partial class OperationTimeoutTests
{
    [Fact]
    public async Task A_reply_that_arrived_before_the_timeout_is_handled_is_a_success_and_leaves_the_breaker_closed()
    {
        await using var rig = await Rig.StartAsync();
        var (time, connection, timeouts) = (rig.Time, rig.Connection, rig.Timeouts);
        var reply = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        var pending = connection.ExecuteAsync("key", static (_, r) => r.Task, reply, "test", connection.NewDeadline());

        // The reply arrives (its continuation is only queued), then the deadline passes before anything else runs:
        // whichever handles the operation first, the reply or the sweep, it must see the reply.
        reply.SetResult(true);
        AdvanceTickByTick(time, Options.OperationTimeout);
        var result = await pending;

        Assert.Equal(OperationStatus.Ok, result.Status);
        Assert.True(result.Value);
        Assert.Equal(BreakerState.Closed, connection.BreakerState);
        Assert.Equal(0, timeouts.Value);
    }

    [Fact]
    public async Task The_sweep_completes_an_operation_whose_reply_arrived_as_a_success_without_waiting_for_its_continuation()
    {
        await using var rig = await Rig.StartAsync();
        var (time, connection, timeouts) = (rig.Time, rig.Connection, rig.Timeouts);
        var breaker = new CircuitBreaker(1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), time);

        // An operation whose reply is in but whose reply continuation never ran (never registered here): only the
        // deadline handler can complete it, and it must do so with the reply.
        var operation = new PendingOperation<bool>(connection, Task.FromResult(true), breaker, "test", "key", time.GetTimestamp(), time.GetTimestamp());
        operation.Expire();
        var result = await new ValueTask<OperationResult<bool>>(operation, 0);

        Assert.Equal(OperationStatus.Ok, result.Status);
        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Equal(0, timeouts.Value);
    }

    [Fact]
    public async Task An_operation_without_a_reply_times_out_within_the_operation_timeout_and_counts_for_the_breaker()
    {
        await using var rig = await Rig.StartAsync();
        var (time, connection, timeouts) = (rig.Time, rig.Connection, rig.Timeouts);
        var never = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        var pending = connection.ExecuteAsync("key", static (_, r) => r.Task, never, "test", connection.NewDeadline());
        AdvanceTickByTick(time, Options.OperationTimeout);
        var result = await pending;

        Assert.Equal(OperationStatus.TimedOut, result.Status);
        Assert.Equal(BreakerState.Open, connection.BreakerState);
        Assert.Equal(1, timeouts.Value);

        // The late reply changes nothing (and its continuation still runs: the sweep left it registered).
        never.SetResult(true);
        Assert.Equal(BreakerState.Open, connection.BreakerState);
    }

    [Fact]
    public async Task A_slow_reply_to_background_work_between_two_timeouts_does_not_start_the_count_again()
    {
        // Background work (no shared deadline: a write-back) is answered after 60 % of the timeout: in time, but slow.
        // The next timeout is then the second failure in a row: the slow reply was no proof of health.
        var state = await BreakerAfterTimeoutReplyTimeoutAsync(time => AdvanceTickByTick(time, Options.OperationTimeout * 0.6));

        Assert.Equal(BreakerState.Open, state);
    }

    [Fact]
    public async Task A_reply_slow_only_because_this_process_ran_late_does_not_start_the_count_again()
    {
        // 60 % of the timeout passes in one step: the sweep's timer fires that late, so most of the wait was this
        // process (a starved thread pool). Whether Redis was fast meanwhile is unknown: the reply is no proof of health
        // (its not counting as slow is A_step_left_without_time_after_a_reply_slow_only_because_this_process_ran_late_counts_nothing).
        // Were it one, a slow Redis on a machine that stalls could reset the count for ever and never open the breaker.
        var state = await BreakerAfterTimeoutReplyTimeoutAsync(time => time.Advance(Options.OperationTimeout * 0.6));

        Assert.Equal(BreakerState.Open, state);
    }

    [Fact]
    public async Task A_fast_reply_to_background_work_between_two_timeouts_starts_the_count_again()
    {
        // Answered at once: Redis is healthy again, so the earlier timeout no longer counts.
        var state = await BreakerAfterTimeoutReplyTimeoutAsync(static _ => { });

        Assert.Equal(BreakerState.Closed, state);
    }

    [Fact]
    public async Task A_step_left_without_time_after_a_slow_reply_counts_as_a_timeout()
    {
        // The first step of a request is answered after 60 % of its budget (slow, in time), then the rest of the budget
        // passes before the second step: Redis spent it, so the step that cannot be sent counts as a timeout.
        var (status, timeouts, state) = await StepLeftWithoutTimeAsync(time => AdvanceTickByTick(time, Options.OperationTimeout * 0.6));

        Assert.Equal(OperationStatus.OutOfTime, status);
        Assert.Equal(1, timeouts);
        Assert.Equal(BreakerState.Open, state);
    }

    [Fact]
    public async Task A_step_left_without_time_after_a_fast_reply_counts_nothing()
    {
        // Answered at once: the budget went to this process (a stall, a first call's compiling), not to Redis.
        var (status, timeouts, state) = await StepLeftWithoutTimeAsync(static _ => { });

        Assert.Equal(OperationStatus.OutOfTime, status);
        Assert.Equal(0, timeouts);
        Assert.Equal(BreakerState.Closed, state);
    }

    [Fact]
    public async Task A_step_left_without_time_after_a_reply_slow_only_because_this_process_ran_late_counts_nothing()
    {
        // 60 % of the budget in one step: the sweep ran that late, so the first reply was slow only to this process.
        var (status, timeouts, state) = await StepLeftWithoutTimeAsync(time => time.Advance(Options.OperationTimeout * 0.6));

        Assert.Equal(OperationStatus.OutOfTime, status);
        Assert.Equal(0, timeouts);
        Assert.Equal(BreakerState.Closed, state);
    }

    [Fact]
    public async Task A_step_left_without_time_after_a_reply_handled_before_a_late_sweep_counts_nothing()
    {
        // Redis answers at once, but this process stalls 60 % of the budget, and the reply's continuation runs before
        // the late sweep could measure that: the reply must not look slow, nor the next step be charged to Redis.
        var clock = new ManualClock();
        var metrics = new CacheMetrics(null);
        var options = new BendCareCacheOptions { Host = "cache.invalid", BreakerFailureThreshold = 1 };
        await using var connection = new RedisConnection(options, metrics, NullLogger.Instance, clock, (_, _) => Task.FromResult(InertMultiplexer.Create()));
        await connection.FirstConnected;
        using var timeouts = new MetricCount(metrics, "bendcare.cache.redis.timeouts");

        long deadline = connection.NewDeadline();
        var reply = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = connection.ExecuteAsync("key", static (_, r) => r.Task, reply, "test", deadline);
        clock.Now = clock.At(Options.OperationTimeout * 0.6);
        reply.SetResult(true);
        var read = await first;
        Assert.Equal(OperationStatus.Ok, read.Status);
        Assert.False(read.Slow);

        clock.Now = clock.At(Options.OperationTimeout * 1.1);
        var second = await connection.ExecuteAsync("key", static (_, _) => Task.FromResult(true), 0, "test", deadline, afterSlowStep: read.Slow ? (RedisKey?)"key" : null);

        Assert.Equal(OperationStatus.OutOfTime, second.Status);
        Assert.Equal(0, timeouts.Value);
        Assert.Equal(BreakerState.Closed, connection.BreakerState);
    }

    [Fact]
    public async Task Many_operations_in_flight_share_one_sweep_each_ending_once_by_reply_or_by_timeout()
    {
        await using var rig = await Rig.StartAsync(threshold: 1000);
        var (time, connection, timeouts) = (rig.Time, rig.Connection, rig.Timeouts);
        var replies = Enumerable.Range(0, 100).Select(_ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();

        var pending = replies.Select(r => connection.ExecuteAsync("key", static (_, s) => s.Task, r, "test").AsTask()).ToArray();
        for (int i = 0; i < replies.Length; i += 2)
        {
            replies[i].SetResult(i);
        }

        AdvanceTickByTick(time, Options.OperationTimeout);
        var results = await Task.WhenAll(pending);

        for (int i = 0; i < results.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? OperationStatus.Ok : OperationStatus.TimedOut, results[i].Status);
        }

        Assert.Equal(50, timeouts.Value);
    }

    [Fact]
    public void Time_this_process_spent_late_does_not_count_against_an_operation()
    {
        // The sweep's own timer ran late: the thread pool was starved, and the reply may be waiting in the socket for it.
        var clock = new ManualClock();
        using var deadlines = new OperationDeadlines(clock, Tick, grace: TimeSpan.FromSeconds(1), complete: Inline);
        var operation = new Recorded(clock.At(TimeSpan.FromMilliseconds(100)), clock.Now);
        deadlines.Track(operation);

        // Due at 5 ms, ran at 120 ms: 99 ms of it late (16 ms of a timer's resolution allowed), so the 100 ms deadline
        // moves to 199 ms: the first sweep past it, at 200 ms, expires it.
        int expiredAt = SweepEveryTickFrom(clock, deadlines, operation, TimeSpan.FromMilliseconds(120));

        Assert.Equal(200, expiredAt);
    }

    [Fact]
    public void Sweeps_that_keep_running_late_still_expire_an_operation_one_grace_period_past_its_deadline()
    {
        var clock = new ManualClock();
        using var deadlines = new OperationDeadlines(clock, Tick, grace: TimeSpan.FromMilliseconds(150), complete: Inline);
        var operation = new Recorded(clock.At(TimeSpan.FromMilliseconds(100)), clock.Now);
        deadlines.Track(operation);

        clock.Now = clock.At(TimeSpan.FromMilliseconds(200));
        deadlines.Sweep();
        Assert.Equal(0, operation.Expired);

        clock.Now = clock.At(TimeSpan.FromMilliseconds(260)); // late again, and 160 ms past the deadline
        deadlines.Sweep();
        Assert.Equal(1, operation.Expired);
    }

    [Fact]
    public void Sweeps_on_time_expire_each_operation_at_its_own_deadline()
    {
        var clock = new ManualClock();
        using var deadlines = new OperationDeadlines(clock, Tick, grace: TimeSpan.FromSeconds(1), complete: Inline);
        var early = new Recorded(clock.At(TimeSpan.FromMilliseconds(4)), clock.Now);
        var later = new Recorded(clock.At(TimeSpan.FromMilliseconds(50)), clock.Now);
        deadlines.Track(early);
        deadlines.Track(later);

        Assert.Equal(5, SweepEveryTickFrom(clock, deadlines, early, Tick));
        Assert.Equal(0, later.Expired);
        Assert.Equal(50, SweepEveryTickFrom(clock, deadlines, later, TimeSpan.FromMilliseconds(10)));
        Assert.Equal(1, early.Expired);
    }

    /// <summary>
    /// Threshold 2: a request times out (one failure), background work (no shared deadline) is answered after
    /// <paramref name="beforeReply"/> has moved the clock, then another request times out. Returns the breaker's state.
    /// </summary>
    private static async Task<BreakerState> BreakerAfterTimeoutReplyTimeoutAsync(Action<FakeTimeProvider> beforeReply)
    {
        await using var rig = await Rig.StartAsync(threshold: 2);
        var (time, connection) = (rig.Time, rig.Connection);
        var never = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = connection.ExecuteAsync("key", static (_, r) => r.Task, never, "test", connection.NewDeadline());
        AdvanceTickByTick(time, Options.OperationTimeout);
        Assert.Equal(OperationStatus.TimedOut, (await first).Status);
        Assert.Equal(BreakerState.Closed, connection.BreakerState);

        var reply = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var background = connection.ExecuteAsync("key", static (_, r) => r.Task, reply, "test");
        beforeReply(time);
        reply.SetResult(true);
        Assert.Equal(OperationStatus.Ok, (await background).Status);

        var second = connection.ExecuteAsync("key", static (_, r) => r.Task, never, "test", connection.NewDeadline());
        AdvanceTickByTick(time, Options.OperationTimeout);
        Assert.Equal(OperationStatus.TimedOut, (await second).Status);
        return connection.BreakerState;
    }

    /// <summary>
    /// Threshold 1: a request's first step is answered after <paramref name="beforeReply"/> has moved the clock, then the
    /// rest of its budget passes (tick by tick: no lateness) and its second step finds none left. Returns that step's
    /// status, the timeouts counted and the breaker's state.
    /// </summary>
    private static async Task<(OperationStatus Status, long Timeouts, BreakerState State)> StepLeftWithoutTimeAsync(Action<FakeTimeProvider> beforeReply)
    {
        await using var rig = await Rig.StartAsync(threshold: 1);
        var (time, connection, timeouts) = (rig.Time, rig.Connection, rig.Timeouts);
        long deadline = connection.NewDeadline();
        long started = time.GetTimestamp();

        var reply = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = connection.ExecuteAsync("key", static (_, r) => r.Task, reply, "test", deadline);
        beforeReply(time);
        reply.SetResult(true);
        var read = await first;
        Assert.Equal(OperationStatus.Ok, read.Status);
        Assert.Equal(BreakerState.Closed, connection.BreakerState);

        AdvanceTickByTick(time, Options.OperationTimeout * 1.1 - time.GetElapsedTime(started));

        // As the engine does: the previous step's slowness goes with the next step (the epoch GET after the GET).
        var second = await connection.ExecuteAsync("key", static (_, _) => Task.FromResult(true), 0, "test", deadline, afterSlowStep: read.Slow ? (RedisKey?)"key" : null);
        return (second.Status, timeouts.Value, connection.BreakerState);
    }

    /// <summary>Moves fake time on one sweep tick at a time, so every sweep runs on time (one big step would be lateness).</summary>
    private static void AdvanceTickByTick(FakeTimeProvider time, TimeSpan span)
    {
        for (var moved = TimeSpan.Zero; moved < span; moved += Tick)
        {
            time.Advance(Tick);
        }
    }

    /// <summary>Sweeps at <paramref name="first"/>, then every tick, until the operation expires; returns when (ms).</summary>
    private static int SweepEveryTickFrom(ManualClock clock, OperationDeadlines deadlines, Recorded operation, TimeSpan first)
    {
        for (var at = first; at < TimeSpan.FromSeconds(2); at += Tick)
        {
            clock.Now = clock.At(at);
            deadlines.Sweep();
            if (operation.Expired > 0)
            {
                Assert.Equal(1, operation.Expired);
                return (int)at.TotalMilliseconds;
            }
        }

        return -1;
    }

    private static TimeSpan Tick { get; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Completes an expired operation on the sweep's thread, so a test sees it right after the sweep.</summary>
    private static Action<PendingOperation> Inline { get; } = static operation => operation.Complete();

    private static BendCareCacheOptions Options { get; } = new() { Host = "cache.invalid" };

    /// <summary>A connection over an inert multiplexer, on fake time, with its timeouts counted.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private Rig(FakeTimeProvider time, RedisConnection connection, MetricCount timeouts, CacheMetrics metrics)
        {
            Time = time;
            Connection = connection;
            Timeouts = timeouts;
            Metrics = metrics;
        }

        public FakeTimeProvider Time { get; }

        public RedisConnection Connection { get; }

        public MetricCount Timeouts { get; }

        public CacheMetrics Metrics { get; }

        public static async Task<Rig> StartAsync(int threshold = 1, TimeSpan? operationTimeout = null)
        {
            var time = new FakeTimeProvider();
            var metrics = new CacheMetrics(null);
            var options = new BendCareCacheOptions { Host = "cache.invalid", BreakerFailureThreshold = threshold, OperationTimeout = operationTimeout ?? Options.OperationTimeout };
            var connection = new RedisConnection(options, metrics, NullLogger.Instance, time, (_, _) => Task.FromResult(InertMultiplexer.Create()));
            await connection.FirstConnected;
            return new Rig(time, connection, new MetricCount(metrics, "bendcare.cache.redis.timeouts"), metrics);
        }

        public async ValueTask DisposeAsync()
        {
            Timeouts.Dispose();
            await Connection.DisposeAsync();
        }
    }

    /// <summary>A clock the test sets; its timers never fire (the test calls the sweep itself).</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long Now { get; set; } = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Now;

        public long At(TimeSpan sinceStart) => 1_000_000 + sinceStart.Ticks;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Inert();

        private sealed class Inert : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>An operation in flight that records how often it was expired.</summary>
    private sealed class Recorded(long expiresAt, long sent) : PendingOperation(expiresAt, sent)
    {
        public int Expired;

        public override bool IsDone => Expired > 0;

        public override void Expire() => Expired++;
    }
}
