using System.Diagnostics.Metrics;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// The request path's operation timeout, enforced by one sweep for every operation in flight. A reply that has arrived
/// by the time the timeout is handled is a success: on a busy machine the continuation runs late, not Redis, and the
/// breaker must not open for it. Time is a <see cref="FakeTimeProvider"/>; replies are completed by the test.
/// </summary>
public class OperationTimeoutTests
{
    [Fact]
    public async Task A_reply_that_arrived_before_the_timeout_is_handled_is_a_success_and_leaves_the_breaker_closed()
    {
        var time = new FakeTimeProvider();
        var metrics = new CacheMetrics(null);
        using var timeouts = new Count(metrics, "bendcare.cache.redis.timeouts");
        await using var connection = await ConnectAsync(time, metrics);
        var reply = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        var pending = connection.ExecuteAsync("key", static (_, r) => r.Task, reply, "test", connection.NewDeadline());

        // The reply arrives (its continuation is only queued), then the deadline passes before anything else runs:
        // whichever handles the operation first, the reply or the sweep, it must see the reply.
        reply.SetResult(true);
        time.Advance(Options.OperationTimeout);
        var result = await pending;

        Assert.Equal(OperationStatus.Ok, result.Status);
        Assert.True(result.Value);
        Assert.Equal(BreakerState.Closed, connection.BreakerState);
        Assert.Equal(0, timeouts.Value);
    }

    [Fact]
    public async Task The_sweep_completes_an_operation_whose_reply_arrived_as_a_success_without_waiting_for_its_continuation()
    {
        var time = new FakeTimeProvider();
        var metrics = new CacheMetrics(null);
        using var timeouts = new Count(metrics, "bendcare.cache.redis.timeouts");
        await using var connection = await ConnectAsync(time, metrics);
        var breaker = new CircuitBreaker(1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), time);

        // An operation whose reply is in but whose reply continuation never ran (never registered here): only the
        // deadline handler can complete it, and it must do so with the reply.
        var operation = new PendingOperation<bool>(connection, Task.FromResult(true), breaker, "test", "key", time.GetTimestamp(), 0, time.GetTimestamp());
        operation.Expire();
        var result = await new ValueTask<OperationResult<bool>>(operation, 0);

        Assert.Equal(OperationStatus.Ok, result.Status);
        Assert.Equal(BreakerState.Closed, breaker.State);
        Assert.Equal(0, timeouts.Value);
    }

    [Fact]
    public async Task An_operation_without_a_reply_times_out_within_the_operation_timeout_and_counts_for_the_breaker()
    {
        var time = new FakeTimeProvider();
        var metrics = new CacheMetrics(null);
        using var timeouts = new Count(metrics, "bendcare.cache.redis.timeouts");
        await using var connection = await ConnectAsync(time, metrics);
        var never = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        var pending = connection.ExecuteAsync("key", static (_, r) => r.Task, never, "test", connection.NewDeadline());
        time.Advance(Options.OperationTimeout);
        var result = await pending;

        Assert.Equal(OperationStatus.TimedOut, result.Status);
        Assert.Equal(BreakerState.Open, connection.BreakerState);
        Assert.Equal(1, timeouts.Value);

        // The late reply changes nothing (and its continuation still runs: the sweep left it registered).
        never.SetResult(true);
        Assert.Equal(BreakerState.Open, connection.BreakerState);
    }

    [Fact]
    public async Task Many_operations_in_flight_share_one_sweep_each_ending_once_by_reply_or_by_timeout()
    {
        var time = new FakeTimeProvider();
        var metrics = new CacheMetrics(null);
        using var timeouts = new Count(metrics, "bendcare.cache.redis.timeouts");
        await using var connection = await ConnectAsync(time, metrics, threshold: 1000);
        var replies = Enumerable.Range(0, 100).Select(_ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();

        var pending = replies.Select(r => connection.ExecuteAsync("key", static (_, s) => s.Task, r, "test").AsTask()).ToArray();
        for (int i = 0; i < replies.Length; i += 2)
        {
            replies[i].SetResult(i);
        }

        time.Advance(Options.OperationTimeout);
        var results = await Task.WhenAll(pending);

        for (int i = 0; i < results.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? OperationStatus.Ok : OperationStatus.TimedOut, results[i].Status);
        }

        Assert.Equal(50, timeouts.Value);
    }

    private static BendCareCacheOptions Options { get; } = new() { Host = "cache.invalid" };

    private static async Task<RedisConnection> ConnectAsync(FakeTimeProvider time, CacheMetrics metrics, int threshold = 1)
    {
        var options = new BendCareCacheOptions { Host = "cache.invalid", BreakerFailureThreshold = threshold };
        var connection = new RedisConnection(options, metrics, NullLogger.Instance, time, (_, _) => Task.FromResult(InertMultiplexer.Create()));
        await connection.FirstConnected;
        return connection;
    }

    /// <summary>Sums one instrument of one metrics instance (other tests' meters of the same name are ignored).</summary>
    private sealed class Count : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _value;

        public Count(CacheMetrics metrics, string instrumentName)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, metrics.Meter) && instrument.Name == instrumentName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _value, value));
            _listener.Start();
        }

        public long Value => Interlocked.Read(ref _value);

        public void Dispose() => _listener.Dispose();
    }
}
