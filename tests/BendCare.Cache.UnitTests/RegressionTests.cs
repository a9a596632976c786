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
    public async Task A_data_error_counts_as_redis_answering_and_never_opens_the_breaker()
    {
        // A WRONGTYPE reply once left a half-open breaker half-open for good. Redis answered: it is up, the data at one
        // key is not, so the breaker must treat it as a success.
        var time = new FakeTimeProvider();
        var options = new BendCareCacheOptions { Host = "cache.invalid", BreakerFailureThreshold = 1 };
        await using var connection = new RedisConnection(options, new CacheMetrics(null), NullLogger.Instance, time, (_, _) => Task.FromResult(InertMultiplexer.Create()));
        await connection.FirstConnected;

        var wrongType = await connection.ExecuteAsync(
            "key",
            static (_, _) => Task.FromException<bool>(new RedisServerException(RedisErrorKind.WrongType, CommandFlags.None, "WRONGTYPE Operation against a key holding the wrong kind of value")),
            0,
            "test");
        var later = await connection.ExecuteAsync("key", static (_, _) => Task.FromResult(true), 0, "test");

        Assert.Equal(OperationStatus.DataError, wrongType.Status);
        Assert.Equal(BreakerState.Closed, connection.BreakerState);
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
