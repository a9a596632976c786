using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>The request path: one guarded operation, its deadline, and how its failure is counted.</summary>
internal sealed partial class RedisConnection
{
    private static readonly TimeoutException NoReplyInTime = new("Redis did not reply within the operation timeout.");

    /// <summary>
    /// Runs one Redis operation when the cache is usable for <paramref name="route"/>, bounded by the operation
    /// timeout. The delegate is static and gets its state passed in, so the hot path allocates no closure. The caller
    /// awaits the reply itself (a <see cref="PendingOperation{T}"/>): no state machine wraps it, and no timer is created
    /// for it; one sweep expires every operation in flight (<see cref="OperationDeadlines"/>).
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
    /// <param name="afterSlowStep">
    /// The key of this request's previous step when that step's reply was slow (<see cref="OperationResult{T}.Slow"/>):
    /// if the budget is spent before this step is sent, Redis spent it, and the server serving that key is charged a
    /// timeout. Without it an out-of-time step counts nothing (this process spent the budget).
    /// </param>
    public ValueTask<OperationResult<T>> ExecuteAsync<TState, T>(RedisKey route, Func<IDatabase, TState, Task<T>> operation, TState state, string cacheType, long deadline = 0, string? command = null, RedisKey? afterSlowStep = null)
    {
        var database = _database;
        return database is null
            ? ExecuteAfterFirstConnectAsync(route, operation, state, cacheType, deadline, command, afterSlowStep)
            : ExecuteOn(database, route, operation, state, cacheType, deadline, command, afterSlowStep);
    }

    /// <summary>A deadline one operation timeout from now, for a request whose Redis phase has several steps.</summary>
    public long NewDeadline() => _time.GetTimestamp() + _timerTimeoutTimestampTicks;

    private async ValueTask<OperationResult<T>> ExecuteAfterFirstConnectAsync<TState, T>(RedisKey route, Func<IDatabase, TState, Task<T>> operation, TState state, string cacheType, long deadline, string? command, RedisKey? afterSlowStep)
    {
        var database = await FirstDatabaseAsync().ConfigureAwait(false);
        return database is null
            ? OperationResult<T>.Skipped
            : await ExecuteOn(database, route, operation, state, cacheType, deadline, command, afterSlowStep).ConfigureAwait(false);
    }

    private ValueTask<OperationResult<T>> ExecuteOn<TState, T>(IDatabase database, in RedisKey route, Func<IDatabase, TState, Task<T>> operation, TState state, string cacheType, long deadline, string? command, RedisKey? afterSlowStep)
    {
        // Requests never probe a broken Redis: the background probe does, so no request pays for it. On a cluster the
        // breaker is the one of the primary serving the key's slot: a dead shard costs only its own keys.
        var breaker = _breakers.For(route);
        if (breaker.State != BreakerState.Closed)
        {
            // Not sent; a slow previous step that spent the budget is charged all the same (on a cluster, an open
            // breaker of this step's shard must not hide the slowness of the previous step's).
            if (afterSlowStep is { } previous && deadline != 0)
            {
                _ = IsOutOfTime<T>(deadline, _time.GetTimestamp(), previous, cacheType);
            }

            return new ValueTask<OperationResult<T>>(OperationResult<T>.Skipped);
        }

        long sent = _time.GetTimestamp();
        long expiresAt = sent + _timerTimeoutTimestampTicks;
        TimeoutCharge? chargeTo = null;
        if (deadline != 0)
        {
            if (IsOutOfTime<T>(deadline, sent, afterSlowStep, cacheType))
            {
                return new ValueTask<OperationResult<T>>(OperationResult<T>.OutOfTime);
            }

            expiresAt = deadline;

            // Sent after a slow previous step on another server (a cluster shard), so with less than half the budget
            // left: if it times out, that server spent the budget, not this one, which had no fair share of it.
            if (afterSlowStep is { } previous && _breakers.For(previous) is var slowBreaker && slowBreaker != breaker)
            {
                chargeTo = new TimeoutCharge(slowBreaker, previous);
            }
        }

        // Only a command actually sent gets a span; a span must not outlive its own async flow, so a traced command
        // runs in a state machine of its own (a cost paid only while someone traces Redis commands).
        return command is not null && Diagnostics.CacheTracing.Redis.HasListeners()
            ? SendTracedAsync(database, route, operation, state, cacheType, sent, expiresAt, command, chargeTo)
            : Send(database, route, operation, state, cacheType, breaker, sent, expiresAt, chargeTo);
    }

    /// <summary>
    /// Whether a step of a request's Redis phase finds its budget spent at <paramref name="now"/>: then it is not sent.
    /// When its previous step's reply was slow, Redis spent it (a GET answered just inside the budget leaves the epoch
    /// GET nothing), and the server that answered slowly is charged a timeout: a Redis that slow would otherwise make
    /// every such request wait its whole budget with the breaker closed. Not after a reply that was prompt or slow only
    /// because this process ran late (the verdict has this process's lateness left out): then this process spent the
    /// budget (a stall, a first call's compiling), and nothing counts. Nor when that server's breaker is not closed: a
    /// request must not fail a probe in flight, nor count a timeout for a server it sent nothing to while it is open.
    /// </summary>
    private bool IsOutOfTime<T>(long deadline, long now, RedisKey? afterSlowStep, string cacheType)
    {
        if (deadline > now)
        {
            return false;
        }

        if (afterSlowStep is { } slowStep && _breakers.For(slowStep) is { State: BreakerState.Closed } slowBreaker)
        {
            _ = OnTimedOut<T>(slowBreaker, cacheType, slowStep);
        }

        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<OperationResult<T>> SendTracedAsync<TState, T>(IDatabase database, RedisKey route, Func<IDatabase, TState, Task<T>> operation, TState state, string cacheType, long sent, long expiresAt, string command, TimeoutCharge? chargeTo)
    {
        using var span = Diagnostics.CacheTracing.StartCommand(command);
        var result = await Send(database, route, operation, state, cacheType, _breakers.For(route), sent, expiresAt, chargeTo).ConfigureAwait(false);
        if (result.Error is { } error)
        {
            Diagnostics.CacheTracing.CommandFailed(span, result.Status, error);
        }

        return result;
    }

    private ValueTask<OperationResult<T>> Send<TState, T>(IDatabase database, in RedisKey route, Func<IDatabase, TState, Task<T>> operation, TState state, string cacheType, CircuitBreaker breaker, long sent, long expiresAt, TimeoutCharge? chargeTo)
    {
        Task<T> task;
        try
        {
            task = operation(database, state);
        }
        catch (Exception ex)
        {
            return new ValueTask<OperationResult<T>>(OnFailed<T>(breaker, ex, cacheType, route, ReplySpeed.Prompt));
        }

        if (task.IsCompleted)
        {
            return new ValueTask<OperationResult<T>>(OnReplied(task, breaker, cacheType, route, sent));
        }

        var pending = new PendingOperation<T>(this, task, breaker, cacheType, route, sent, expiresAt, chargeTo);
        _deadlines.Track(pending);
        return pending.Start();
    }

    /// <summary>The reply arrived (whenever its continuation got to run): a success, a data error or a failure of Redis.</summary>
    internal OperationResult<T> OnReplied<T>(Task<T> task, CircuitBreaker breaker, string cacheType, in RedisKey route, long sent)
    {
        // A reply that took more than half the timeout is no proof of health: it does not reset the failure count, so a
        // Redis slow enough to push a request's later steps past the timeout opens the breaker. That holds for
        // background work too (a write-back has a timeout of its own): its slow replies landing between the requests'
        // timeouts would otherwise start the count again, and every request keep waiting a whole timeout. Time this
        // process ran late meanwhile is not Redis being slow (see OperationDeadlines); a reply slow only with it counts
        // for nothing either way.
        var speed = SpeedOfReply(sent);
        if (task.IsCompletedSuccessfully)
        {
            if (speed == ReplySpeed.Prompt)
            {
                breaker.OnRequestSuccess();
            }

            return new OperationResult<T>(task.Result) { Slow = speed == ReplySpeed.Slow };
        }

        Exception error = task.Exception?.InnerException ?? new TaskCanceledException(task);
        return OnFailed<T>(breaker, error, cacheType, route, speed);
    }

    /// <summary>
    /// How fast an operation sent at <paramref name="sent"/> and answered now was: prompt within half the operation
    /// timeout; past it, slow unless the time this process may have kept it waiting
    /// (<see cref="OperationDeadlines.LatenessFor"/>) brings it back under, which excuses it.
    /// </summary>
    private ReplySpeed SpeedOfReply(long sent)
    {
        // A prompt reply (the hot path) reads one timestamp and nothing of the sweep.
        long now = _time.GetTimestamp();
        long took = now - sent;
        if (took < _slowReplyTimestampTicks)
        {
            return ReplySpeed.Prompt;
        }

        return took - _deadlines.LatenessFor(sent, now) >= _slowReplyTimestampTicks ? ReplySpeed.Slow : ReplySpeed.Excused;
    }

    /// <summary>No reply by the deadline, checked when the deadline was handled: Redis (or the way to it) is slow.</summary>
    internal OperationResult<T> OnTimedOut<T>(CircuitBreaker breaker, string cacheType, in RedisKey route)
    {
        breaker.OnFailure();
        _metrics.Timeout(cacheType);
        _failures.Record(FailureReason.Timeout, NoReplyInTime, route);
        return TimedOutResult<T>();
    }

    /// <summary>What a request gets for an operation without a reply in time.</summary>
    internal static OperationResult<T> TimedOutResult<T>() => new(OperationStatus.TimedOut, NoReplyInTime);

    private OperationResult<T> OnFailed<T>(CircuitBreaker breaker, Exception exception, string cacheType, in RedisKey route, ReplySpeed speed)
    {
        if (FailureClassifier.IsDataError(exception))
        {
            // Redis answered: it is healthy, the data at the key (or our command) is not.
            if (speed == ReplySpeed.Prompt)
            {
                breaker.OnRequestSuccess();
            }

            return new OperationResult<T>(OperationStatus.DataError, exception) { Slow = speed == ReplySpeed.Slow };
        }

        _metrics.RedisError(cacheType);
        var reason = FailureClassifier.Classify(exception);
        _failures.Record(reason, exception, route);
        if (reason == FailureReason.Auth)
        {
            OnCredentialsRejected();
        }

        breaker.OnFailure();
        return new OperationResult<T>(OperationStatus.Failed, exception);
    }
}
