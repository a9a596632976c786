using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// The first requests of a fresh instance. While the very first connect is in progress (never attached, not failed
/// yet) a request waits for it instead of skipping Redis, so a fresh instance's first misses are written back and its
/// concurrent first callers share one load. No request waits past <see cref="BendCareCacheOptions.OperationTimeout"/>
/// after that connect attempt began: against a blackholed server only the requests of that first window are delayed,
/// each by less than the timeout, and later ones not at all. A refused or failed first connect ends the wait at once.
/// The wait never counts towards a breaker.
/// </summary>
internal sealed partial class RedisConnection
{
    private readonly TaskCompletionSource _firstAttach = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _firstConnectDeadline;

    /// <summary>Called as the first connect begins.</summary>
    private void BeginFirstConnect() =>
        Volatile.Write(ref _firstConnectDeadline, _time.GetTimestamp() + _timerTimeoutTimestampTicks);

    /// <summary>The first connect attached a multiplexer (connected or not), failed, or the connection was disposed.</summary>
    private void EndFirstConnect() => _firstAttach.TrySetResult();

    /// <summary>The database once the first connect has attached one, waiting for it within the first window only.</summary>
    private async ValueTask<IDatabase?> FirstDatabaseAsync()
    {
        var first = _firstAttach.Task;
        if (!first.IsCompleted)
        {
            var left = _time.GetElapsedTime(_time.GetTimestamp(), Volatile.Read(ref _firstConnectDeadline));
            if (left <= TimeSpan.Zero)
            {
                return null;
            }

            try
            {
                await first.WaitAsync(left, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return null;
            }
        }

        return _database;
    }
}
