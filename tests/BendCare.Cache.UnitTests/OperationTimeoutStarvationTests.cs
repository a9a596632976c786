using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// A thread pool that grows more and more starved, then stays so, while Redis answers every command in 1 ms: the replies'
/// continuations and the deadline sweep wait in the same queue. Nothing of that is Redis being slow, so no reply may
/// look slow, no step left without time may be charged to Redis, and the breaker must stay closed. Time is fake, and
/// so is the queue: a <see cref="StarvedPool"/> runs the timers' callbacks and the replies' continuations its queue
/// delay after they were queued.
/// </summary>
public partial class OperationTimeoutTests
{
    [Fact]
    public async Task A_thread_pool_that_grows_slowly_more_starved_and_stays_so_never_makes_a_prompt_redis_look_slow()
    {
        var pool = new StarvedPool();
        var metrics = new CacheMetrics(null);
        var options = new BendCareCacheOptions { Host = "cache.invalid", BreakerFailureThreshold = 1 };
        await using var connection = new RedisConnection(options, metrics, NullLogger.Instance, pool, (_, _) => Task.FromResult(InertMultiplexer.Create()));
        await connection.FirstConnected;
        using var timeouts = new MetricCount(metrics, "bendcare.cache.redis.timeouts");

        // A service that served before its thread pool starved: one request answered at once, no queue delay.
        var warm = await connection.ExecuteAsync("key", static (_, _) => Task.FromResult(true), 0, "test", connection.NewDeadline());
        Assert.Equal(OperationStatus.Ok, warm.Status);

        // The queue delay grows by 20 ms a request from 0.3 s (twice the timeout) to 2 s, then stays at 2 s: each step
        // of it is far below what a sweep measured against the sweep before it would notice (one tick of jitter, 16 ms,
        // forgiven at every sweep). The requests come one after another, as a request loop's would.
        var delays = Enumerable.Range(0, 86).Select(i => TimeSpan.FromMilliseconds(Math.Min(2000, 300 + (20 * i)))).ToList();
        delays.AddRange(Enumerable.Repeat(TimeSpan.FromSeconds(2), 20));
        int requests = 0;
        foreach (var delay in delays)
        {
            pool.QueueDelay = delay;
            long deadline = connection.NewDeadline();

            // A request's two steps sharing one budget, as the engine's GET then epoch GET. Redis answers the GET after
            // 1 ms; its continuation then waits in the queue, and runs when the budget is long spent.
            var reply = new TaskCompletionSource<bool>();
            var first = connection.ExecuteAsync("key", static (_, r) => r.Task, reply, "test", deadline);
            pool.Advance(TimeSpan.FromMilliseconds(1));
            pool.Queue(() => reply.SetResult(true));
            pool.AdvanceUntil(() => first.IsCompleted);
            var read = await first;
            Assert.Equal(OperationStatus.Ok, read.Status);
            Assert.False(read.Slow, $"request {requests}, queue delay {delay.TotalMilliseconds} ms: a reply that took 1 ms looked slow");

            var second = await connection.ExecuteAsync("key", static (_, _) => Task.FromResult(true), 0, "test", deadline, afterSlowStep: read.Slow ? (RedisKey?)"key" : null);
            Assert.Equal(OperationStatus.OutOfTime, second.Status);
            requests++;
        }

        Assert.Equal(delays.Count, requests);
        Assert.Equal(0, timeouts.Value);
        Assert.Equal(BreakerState.Closed, connection.BreakerState);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(30)]
    [InlineData(100)]
    [InlineData(300)]
    public async Task Under_a_steady_queue_delay_an_unanswered_operation_waits_its_deadline_plus_about_that_delay(int delayMs)
    {
        // The queue delay holds the reply back once: the operation is excused that delay, not all the time it waits.
        var pool = new StarvedPool();
        var metrics = new CacheMetrics(null);
        var options = new BendCareCacheOptions { Host = "cache.invalid", BreakerFailureThreshold = 1000 };
        await using var connection = new RedisConnection(options, metrics, NullLogger.Instance, pool, (_, _) => Task.FromResult(InertMultiplexer.Create()));
        await connection.FirstConnected;
        CompleteExpiredInline(connection);
        pool.QueueDelay = TimeSpan.FromMilliseconds(delayMs);

        for (int i = 0; i < 3; i++)
        {
            long started = pool.GetTimestamp();
            var never = new TaskCompletionSource<bool>();
            var pending = connection.ExecuteAsync("key", static (_, r) => r.Task, never, "test", connection.NewDeadline());
            pool.AdvanceUntil(() => pending.IsCompleted);
            Assert.Equal(OperationStatus.TimedOut, (await pending).Status);

            // The budget (about 135 ms), then the delay once as the excuse, plus up to one sweep period (the delay and a
            // tick) for the sweep that expires it to run: never the grace period (8 timeouts) a running total gave.
            double waited = pool.GetElapsedTime(started).TotalMilliseconds;
            Assert.InRange(waited, Options.OperationTimeout.TotalMilliseconds * 0.85, Options.OperationTimeout.TotalMilliseconds + (2 * delayMs) + 10);
        }
    }

    [Theory]
    [InlineData(40)]
    [InlineData(100)]
    public async Task Under_a_steady_queue_delay_a_redis_answering_in_two_thirds_of_the_timeout_still_opens_the_breaker(int delayMs)
    {
        // Redis answers each GET after 100 ms (timeout 150 ms); its continuation then waits the queue delay. Left out
        // the delay, the reply is slow, so the epoch GET left without time is charged: three requests open the breaker.
        var pool = new StarvedPool();
        var metrics = new CacheMetrics(null);
        var options = new BendCareCacheOptions { Host = "cache.invalid", BreakerFailureThreshold = 3 };
        await using var connection = new RedisConnection(options, metrics, NullLogger.Instance, pool, (_, _) => Task.FromResult(InertMultiplexer.Create()));
        await connection.FirstConnected;
        using var timeouts = new MetricCount(metrics, "bendcare.cache.redis.timeouts");
        pool.QueueDelay = TimeSpan.FromMilliseconds(delayMs);

        int requests = 0;
        for (; requests < 20 && connection.BreakerState == BreakerState.Closed; requests++)
        {
            long deadline = connection.NewDeadline();
            var reply = new TaskCompletionSource<bool>();
            var first = connection.ExecuteAsync("key", static (_, r) => r.Task, reply, "test", deadline);
            pool.Advance(TimeSpan.FromMilliseconds(100));
            pool.Queue(() => reply.SetResult(true));
            pool.AdvanceUntil(() => first.IsCompleted);
            var read = await first;
            Assert.True(read.Slow, $"request {requests}: a reply that took Redis 100 ms did not look slow");
            var second = await connection.ExecuteAsync("key", static (_, _) => Task.FromResult(true), 0, "test", deadline, afterSlowStep: read.Slow ? (RedisKey?)"key" : null);
            Assert.Equal(OperationStatus.OutOfTime, second.Status);
            pool.Advance(TimeSpan.FromMilliseconds(50));
        }

        Assert.Equal(3, requests);
        Assert.Equal(3, timeouts.Value);
        Assert.Equal(BreakerState.Open, connection.BreakerState);
    }

    /// <summary>
    /// Expired operations are completed on the test's thread, so the fake time at which they end is the sweep's: read
    /// from the connection's internals only to make the wait measurable, after nothing else has run.
    /// </summary>
    private static void CompleteExpiredInline(RedisConnection connection)
    {
        const System.Reflection.BindingFlags Flags = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance;
        var deadlines = typeof(RedisConnection).GetField("_deadlines", Flags)!.GetValue(connection)!;
        typeof(OperationDeadlines).GetField("_complete", Flags)!.SetValue(deadlines, Inline);
    }

    /// <summary>
    /// Fake time, and a thread pool with a queue delay the test sets: every timer callback (the deadline sweep, the
    /// connection's own tick) and every work item given to <see cref="Queue"/> runs <see cref="QueueDelay"/> after it
    /// was queued, in the order it was queued, on the test's thread while <see cref="Advance"/> moves time on.
    /// </summary>
    private sealed class StarvedPool : TimeProvider
    {
        private readonly FakeTimeProvider _fake = new();
        private readonly Queue<(long RunAt, Action Work)> _queue = new();

        public TimeSpan QueueDelay { get; set; }

        public override long TimestampFrequency => _fake.TimestampFrequency;

        public override long GetTimestamp() => _fake.GetTimestamp();

        public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            _fake.CreateTimer(s => Queue(() => callback(s)), state, dueTime, period);

        public void Queue(Action work)
        {
            if (QueueDelay == TimeSpan.Zero)
            {
                work();
                return;
            }

            lock (_queue)
            {
                _queue.Enqueue((GetTimestamp() + (long)(QueueDelay.TotalSeconds * TimestampFrequency), work));
            }
        }

        /// <summary>Moves time on 1 ms at a time, running what has waited its queue delay.</summary>
        public void Advance(TimeSpan span)
        {
            for (var moved = TimeSpan.Zero; moved < span; moved += TimeSpan.FromMilliseconds(1))
            {
                _fake.Advance(TimeSpan.FromMilliseconds(1));
                RunDue();
            }
        }

        /// <summary>Moves time on until <paramref name="done"/> holds (at most a minute of fake time).</summary>
        public void AdvanceUntil(Func<bool> done)
        {
            for (int ms = 0; !done(); ms++)
            {
                Assert.True(ms < 60_000, "not done after a minute of fake time");
                Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        private void RunDue()
        {
            // A FIFO queue: what was queued earlier runs first, even if its delay was shorter than a later item's.
            while (true)
            {
                Action work;
                lock (_queue)
                {
                    if (_queue.Count == 0 || _queue.Peek().RunAt > GetTimestamp())
                    {
                        return;
                    }

                    work = _queue.Dequeue().Work;
                }

                work();
            }
        }
    }
}
