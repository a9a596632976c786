using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>The request path: one guarded operation, its deadline, and how its failure is counted.</summary>
internal sealed partial class RedisConnection
{
    /// <summary>
    /// Runs one Redis operation when the cache is usable for <paramref name="route"/>, bounded by the operation
    /// timeout. The delegate is static and gets its state passed in, so the hot path allocates no closure.
    /// </summary>
    /// <param name="route">The key the operation touches: its hash slot tells which server (and breaker) serves it.</param>
    /// <param name="operation">The Redis call.</param>
    /// <param name="state">Passed to <paramref name="operation"/>.</param>
    /// <param name="cacheType">The metrics tag.</param>
    /// <param name="deadline">
    /// A <see cref="NewDeadline"/> shared by every step of one request's Redis phase, so the whole phase waits at most
    /// one operation timeout; 0 = a fresh deadline for this operation alone.
    /// </param>
    /// <param name="command">The Redis command's name for its client span (<c>GET</c>, <c>EVAL</c>, ...); no span without it.</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<OperationResult<T>> ExecuteAsync<TState, T>(RedisKey route, Func<IDatabase, TState, Task<T>> operation, TState state, string cacheType, long deadline = 0, string? command = null)
    {
        var database = _database;
        if (database is null && (database = await FirstDatabaseAsync().ConfigureAwait(false)) is null)
        {
            return OperationResult<T>.Skipped;
        }

        // Requests never probe a broken Redis: the background probe does, so no request pays for it. On a cluster the
        // breaker is the one of the primary serving the key's slot: a dead shard costs only its own keys.
        var breaker = _breakers.For(route);
        if (breaker.State != BreakerState.Closed)
        {
            return OperationResult<T>.Skipped;
        }

        TimeSpan budget = _timerTimeout;
        long sent = _time.GetTimestamp();
        if (deadline != 0)
        {
            budget = _time.GetElapsedTime(sent, deadline);
            if (budget <= TimeSpan.Zero)
            {
                // The request's earlier steps used its whole budget: not sent, and Redis is not to blame.
                return OperationResult<T>.OutOfTime;
            }
        }

        // Only a command actually sent gets a span (null, and free, when nobody traces Redis commands).
        using var span = Diagnostics.CacheTracing.StartCommand(command);
        Task<T>? task = null;
        try
        {
            task = operation(database, state);
            T value = task.IsCompleted
                ? await task.ConfigureAwait(false)
                : await task.WaitAsync(budget, _time).ConfigureAwait(false);

            // A request-path reply that took more than half the timeout is no proof of health: it neither resets the
            // failure count nor adds to it, so a Redis slow enough to push a request's later steps past the timeout
            // opens the breaker.
            if (deadline == 0 || _time.GetElapsedTime(sent) < _slowReply)
            {
                breaker.OnRequestSuccess();
            }

            return new OperationResult<T>(value);
        }
        catch (Exception ex)
        {
            // A data error is Redis answering, but a slow answer on the request path proves no health either.
            bool slow = deadline != 0 && _time.GetElapsedTime(sent) >= _slowReply;
            var status = OnOperationFailed(breaker, task, ex, cacheType, route, slow);
            Diagnostics.CacheTracing.CommandFailed(span, status, ex);
            return new OperationResult<T>(status);
        }
    }

    /// <summary>A deadline one operation timeout from now, for a request whose Redis phase has several steps.</summary>
    public long NewDeadline() => _time.GetTimestamp() + _timerTimeoutTimestampTicks;

    private OperationStatus OnOperationFailed(CircuitBreaker breaker, Task? task, Exception exception, string cacheType, in RedisKey route, bool slow = false)
    {
        if (FailureClassifier.IsDataError(exception))
        {
            // Redis answered: it is healthy, the data at the key (or our command) is not.
            if (!slow)
            {
                breaker.OnRequestSuccess();
            }

            return OperationStatus.DataError;
        }

        bool timedOut = task is not null && !task.IsCompleted;
        if (timedOut)
        {
            // Timed out: the operation may still finish; observe it so its fault is not reported as unobserved.
            _ = task!.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _metrics.Timeout(cacheType);
            _failures.Record(FailureReason.Timeout, exception, route);
        }
        else
        {
            _metrics.RedisError(cacheType);
            var reason = FailureClassifier.Classify(exception);
            _failures.Record(reason, exception, route);
            if (reason == FailureReason.Auth)
            {
                OnCredentialsRejected();
            }
        }

        breaker.OnFailure();
        return timedOut ? OperationStatus.TimedOut : OperationStatus.Failed;
    }
}
