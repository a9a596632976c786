using BendCare.Cache.Configuration;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

/// <summary>Regression tests for bugs found by review: each failed before its fix.</summary>
public class RegressionTests
{

    [Fact]
    public async Task Concurrent_callers_share_a_loader_that_fails_with_its_own_OperationCanceledException()
    {
        // A loader can throw OperationCanceledException for its own reasons (HttpClient.Timeout, a command timeout)
        // while no caller cancelled. That is a loader exception: it must reach every waiting caller, not make each of
        // them run the loader again one after another.
        await using var provider = TestServices.DisabledProvider();
        var cache = provider.GetRequiredService<IRbacCache>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        async ValueTask<UserContext?> Loader(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            throw new TaskCanceledException("The operation was canceled because the database did not answer in time.");
        }

        var callers = Enumerable.Range(0, 10).Select(_ => cache.GetUserContextAsync("user-1", Loader).AsTask()).ToArray();
        Assert.Equal(1, Volatile.Read(ref calls));
        gate.SetResult();

        foreach (var caller in callers)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => caller);
        }

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Breaker_does_not_stay_half_open_forever_when_the_probe_hits_a_data_error()
    {
        var time = new FakeTimeProvider();
        var options = new BendCareCacheOptions { Host = "cache.invalid", BreakerFailureThreshold = 1 };
        await using var connection = new RedisConnection(options, new CacheMetrics(null), NullLogger.Instance, time, (_, _) => Task.FromResult(InertMultiplexer.Create()));
        await connection.FirstConnected;

        // One failure opens the breaker (threshold 1).
        var failed = await connection.ExecuteAsync(
            static (_, _) => Task.FromException<bool>(new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "socket closed", null, CommandStatus.Sent)),
            0,
            "test");
        Assert.Equal(OperationStatus.Failed, failed.Status);
        Assert.Equal(BreakerState.Open, connection.BreakerState);

        // The open period ends; the probe finds a foreign value at its key (WRONGTYPE): Redis answered, it is up.
        time.Advance(options.BreakerOpenDuration);
        var probe = await connection.ExecuteAsync(
            static (_, _) => Task.FromException<bool>(new RedisServerException(RedisErrorKind.WrongType, CommandFlags.None, "WRONGTYPE Operation against a key holding the wrong kind of value")),
            0,
            "test");
        Assert.Equal(OperationStatus.DataError, probe.Status);

        // Well past any back-off (but before the forced reconnect), a request must be allowed to use Redis again.
        time.Advance(TimeSpan.FromSeconds(10));
        var later = await connection.ExecuteAsync(static (_, _) => Task.FromResult(true), 0, "test");

        Assert.NotEqual(BreakerState.HalfOpen, connection.BreakerState);
        Assert.Equal(OperationStatus.Ok, later.Status);
    }

    [Fact]
    public void Host_containing_a_space_is_rejected_at_startup()
    {
        // The validator's message says the host "must not contain spaces", but only leading/trailing ones are caught.
        var result = new BendCareCacheOptionsValidator().Validate(null, new BendCareCacheOptions { Host = "redis internal" });

        Assert.True(result.Failed);
    }

    [Fact]
    public void Disposing_the_service_provider_synchronously_after_resolving_the_cache_does_not_throw()
    {
        var provider = TestServices.DisabledProvider();
        provider.GetRequiredService<IRbacCache>();

        provider.Dispose();
    }
}
