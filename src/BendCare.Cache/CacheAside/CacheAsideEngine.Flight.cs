using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace BendCare.Cache.CacheAside;

/// <summary>The single-flight record: one load shared by the callers that saw the same state.</summary>
internal sealed partial class CacheAsideEngine
{
    /// <summary>One loader call shared by concurrent callers, with the state its leader observed before loading.</summary>
    private interface IFlight
    {
        int Followers { get; }
    }

    [SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "The source has no timer and its wait handle is never created; a late waiter may still cancel it after the load ended, so it is left to the GC.")]
    private sealed class Flight<T> : IFlight
    {
        private readonly TaskCompletionSource<T?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _everyoneGaveUp = new();
        private int _waiters = 1;
        private int _followers;

        public Flight(ObservedState observed, long? epoch, byte[]? fingerprint, long started, ActivityContext leaderSpan)
        {
            Observed = observed;
            Epoch = epoch;
            Fingerprint = fingerprint;
            Started = started;
            LeaderSpan = leaderSpan;
        }

        public ObservedState Observed { get; }

        public long? Epoch { get; }

        public byte[]? Fingerprint { get; }

        /// <summary>When the leader's call began (before its Redis read): the write-back horizon counts from here.</summary>
        public long Started { get; }

        /// <summary>The span of the caller whose loader runs (default when not traced): followers link to it.</summary>
        public ActivityContext LeaderSpan { get; }

        /// <summary>Passed to the loader: cancelled only once every caller of the flight has given up.</summary>
        public CancellationToken Token => _everyoneGaveUp.Token;

        /// <summary>Callers that joined this flight (tests order races on it instead of sleeping).</summary>
        public int Followers => Volatile.Read(ref _followers);

        public bool Matches(ObservedState observed, long? epoch, byte[]? fingerprint) =>
            Observed.Equals(observed)
            && Epoch == epoch
            && (Fingerprint is null ? fingerprint is null : fingerprint is not null && Fingerprint.AsSpan().SequenceEqual(fingerprint));

        /// <summary>Joins unless every caller has given up already (the load is being cancelled).</summary>
        public bool TryJoin()
        {
            int waiters = Volatile.Read(ref _waiters);
            while (waiters > 0)
            {
                int seen = Interlocked.CompareExchange(ref _waiters, waiters + 1, waiters);
                if (seen == waiters)
                {
                    Interlocked.Increment(ref _followers);
                    return true;
                }

                waiters = seen;
            }

            return false;
        }

        /// <summary>Waits for the shared value; the caller's token ends this caller's wait only.</summary>
        public async ValueTask<T?> WaitAsync(CancellationToken cancellationToken)
        {
            if (!cancellationToken.CanBeCanceled)
            {
                return await _completion.Task.ConfigureAwait(false);
            }

            try
            {
                return await _completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !_completion.Task.IsCompleted)
            {
                if (Interlocked.Decrement(ref _waiters) == 0)
                {
                    _everyoneGaveUp.Cancel();
                }

                throw;
            }
        }

        public void SetResult(T? value) => _completion.TrySetResult(value);

        public void SetCanceled(OperationCanceledException exception)
        {
            _completion.TrySetCanceled(exception.CancellationToken);
            _ = _completion.Task.Exception;
        }

        public void SetException(Exception exception)
        {
            _completion.TrySetException(exception);

            // Followers may be gone; the task's fault counts as observed.
            _ = _completion.Task.Exception;
        }
    }
}
