using System.Threading.Tasks.Sources;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// One guarded operation (a request's or background work's) waiting for its reply: the caller awaits this source directly (no wrapping state machine,
/// no timer of its own). Whichever comes first completes it: the reply (StackExchange.Redis completes its task from the
/// reader and runs continuations on the thread pool; the caller's continuation then runs inline, one hop like a plain
/// <c>await</c>) or the deadline sweep. The sweep looks at the reply's task before it calls anything a timeout: a reply
/// that arrived while its continuation waited for a busy thread pool is a success, because Redis was not slow (and
/// time the process itself ran late does not count, see <see cref="OperationDeadlines"/>).
/// </summary>
internal sealed class PendingOperation<T> : PendingOperation, IValueTaskSource<OperationResult<T>>
{
    private readonly RedisConnection _connection;
    private readonly Task<T> _task;
    private readonly CircuitBreaker _breaker;
    private readonly string _cacheType;
    private readonly RedisKey _route;
    private readonly TimeoutCharge? _chargeTo;
    private ManualResetValueTaskSourceCore<OperationResult<T>> _core;
    private int _done;

    public PendingOperation(RedisConnection connection, Task<T> task, CircuitBreaker breaker, string cacheType, in RedisKey route, long sent, long expiresAt, TimeoutCharge? chargeTo = null)
        : base(expiresAt, sent)
    {
        _connection = connection;
        _task = task;
        _breaker = breaker;
        _cacheType = cacheType;
        _route = route;
        _chargeTo = chargeTo;
    }

    public override bool IsDone => Volatile.Read(ref _done) != 0;

    public ValueTask<OperationResult<T>> Start()
    {
        _task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(OnReply);
        return new ValueTask<OperationResult<T>>(this, _core.Version);
    }

    public override void Expire()
    {
        if (_task.IsCompleted)
        {
            OnReply();
            return;
        }

        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            OperationResult<T> result;
            try
            {
                // Charged to the slow shard that left this step a sliver of budget, unless its breaker is no longer
                // closed (a probe in flight must not be failed by a request): then to this operation's own server.
                result = _chargeTo is { Breaker.State: BreakerState.Closed } charge
                    ? _connection.OnTimedOut<T>(charge.Breaker, _cacheType, charge.Route)
                    : _connection.OnTimedOut<T>(_breaker, _cacheType, _route);
            }
            catch (Exception)
            {
                // The bookkeeping (a metrics listener, a log provider: the application's code) failed: the caller is
                // still answered, or it would wait for ever.
                result = RedisConnection.TimedOutResult<T>();
            }

            _core.SetResult(result);
        }
    }

    public override void Abandon()
    {
        if (_task.IsCompleted)
        {
            OnReply();
            return;
        }

        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            // The cache is shutting down: the caller goes to its loader; Redis was not slow, so nothing is counted.
            _core.SetResult(OperationResult<T>.Skipped);
        }
    }

    public OperationResult<T> GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void OnReply()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            OperationResult<T> result;
            try
            {
                result = _connection.OnReplied(_task, _breaker, _cacheType, _route, Sent);
            }
            catch (Exception ex)
            {
                // As above: bookkeeping that throws must not strand the caller.
                result = _task.IsCompletedSuccessfully ? new OperationResult<T>(_task.Result) : new OperationResult<T>(OperationStatus.Failed, ex);
            }

            _core.SetResult(result);
        }
        else if (_task.IsFaulted)
        {
            // Expired before it failed: the fault is observed here, not reported as unobserved.
            _ = _task.Exception;
        }
    }
}

/// <summary>
/// Who a timed-out operation's timeout is charged to when not its own server: a step sent with a sliver of budget left
/// by a slow previous step on another shard (see <c>RedisConnection.ExecuteOn</c>).
/// </summary>
internal sealed record TimeoutCharge(CircuitBreaker Breaker, RedisKey Route);
