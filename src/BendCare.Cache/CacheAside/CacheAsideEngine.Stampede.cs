using BendCare.Cache.Connection;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

internal sealed partial class CacheAsideEngine
{
    /// <summary>
    /// A miss: read the group epoch (for grouped types) before the loader starts, then run the loader once per key
    /// for every concurrent caller that saw the same state, and schedule the write-back.
    /// </summary>
    private async ValueTask<T?> LoadAsync<T, TState>(
        CacheEntry<T> entry,
        string key,
        string id,
        ObservedState observed,
        byte[]? fingerprint,
        TState state,
        Func<TState, CancellationToken, ValueTask<T?>> loader,
        long started,
        long deadline,
        CancellationToken cancellationToken)
    {
        long? epoch = null;
        if (entry.Groups is { } groups && observed.IsKnown)
        {
            var read = await _connection.ExecuteAsync(groups.EpochKey, static (db, k) => db.StringGetAsync(k), (RedisKey)groups.EpochKey, entry.Name, deadline).ConfigureAwait(false);
            // Without the epoch the write-back is dropped (RegisterInGroupsAsync needs it), but the observed state is
            // kept: it is what stops this caller from joining a load that began before an invalidation it has seen.
            if (read.IsOk)
            {
                epoch = ParseEpoch(read.Value);
            }
        }

        while (true)
        {
            // Join a flight only when its leader saw exactly what we saw: a caller that already sees an invalidation
            // (a new tombstone, a new epoch) must not receive a value loaded before it.
            if (_flights.TryGetValue(key, out var existing) && existing is Flight<T> flight && flight.Matches(observed, epoch, fingerprint))
            {
                try
                {
                    flight.Join();
                    return await flight.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && flight.Task.IsCanceled)
                {
                    // The leader's caller gave up, not us: lead a flight of our own.
                    _flights.TryRemove(new KeyValuePair<string, object>(key, flight));
                    continue;
                }
            }

            var mine = new Flight<T>(observed, epoch, fingerprint);
            bool installed = existing is null ? _flights.TryAdd(key, mine) : _flights.TryUpdate(key, mine, existing);
            if (!installed)
            {
                continue;
            }

            return await LeadAsync(entry, key, id, mine, state, loader, started, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<T?> LeadAsync<T, TState>(
        CacheEntry<T> entry,
        string key,
        string id,
        Flight<T> flight,
        TState state,
        Func<TState, CancellationToken, ValueTask<T?>> loader,
        long started,
        CancellationToken cancellationToken)
    {
        T? value;
        try
        {
            _metrics.LoaderCall(entry.Tag);
            value = await loader(state, cancellationToken).ConfigureAwait(false);
            flight.SetResult(value);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            // Our caller gave up; followers that did not will lead a load of their own.
            flight.SetCanceled(ex.CancellationToken);
            throw;
        }
        catch (Exception ex)
        {
            // The database is the source of truth: its exceptions reach every waiting caller unchanged.
            flight.SetException(ex);
            throw;
        }
        finally
        {
            _flights.TryRemove(new KeyValuePair<string, object>(key, flight));
        }

        if (flight.Observed.IsKnown && (value is not null || flight.Observed.IsUnreadable))
        {
            ScheduleWriteBack(entry, key, id, flight, value, started);
        }

        return value;
    }

    /// <summary>Forgets in-flight loads of a key so callers arriving after an invalidation start a fresh one.</summary>
    private void ForgetFlight(string key) => _flights.TryRemove(key, out _);

    /// <summary>Forgets every in-flight load of one type (a group invalidation may concern any of them).</summary>
    private void ForgetFlights<T>()
    {
        foreach (var pair in _flights)
        {
            if (pair.Value is Flight<T>)
            {
                _flights.TryRemove(pair);
            }
        }
    }

    /// <summary>How many callers wait on the in-flight load of a key, the leader not counted; -1 when none is in flight.</summary>
    internal int FollowersOf(string key) => _flights.TryGetValue(key, out var flight) && flight is IFlight f ? f.Followers : -1;

    private static long ParseEpoch(RedisValue value) => value.IsNull ? 0 : (long)value;

    /// <summary>One loader call shared by concurrent callers, with the state its leader observed before loading.</summary>
    private interface IFlight
    {
        int Followers { get; }
    }

    private sealed class Flight<T> : IFlight
    {
        private readonly TaskCompletionSource<T?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _followers;

        public Flight(ObservedState observed, long? epoch, byte[]? fingerprint)
        {
            Observed = observed;
            Epoch = epoch;
            Fingerprint = fingerprint;
        }

        public ObservedState Observed { get; }

        public long? Epoch { get; }

        public byte[]? Fingerprint { get; }

        public Task<T?> Task => _completion.Task;

        /// <summary>Callers that joined this flight (tests order races on it instead of sleeping).</summary>
        public int Followers => Volatile.Read(ref _followers);

        public void Join() => Interlocked.Increment(ref _followers);

        public bool Matches(ObservedState observed, long? epoch, byte[]? fingerprint) =>
            Observed.Equals(observed)
            && Epoch == epoch
            && (Fingerprint is null ? fingerprint is null : fingerprint is not null && Fingerprint.AsSpan().SequenceEqual(fingerprint));

        public void SetResult(T? value) => _completion.TrySetResult(value);

        public void SetCanceled(CancellationToken token) => _completion.TrySetCanceled(token);

        public void SetException(Exception exception)
        {
            _completion.TrySetException(exception);

            // Followers may be gone; the leader rethrows it anyway, so the task's fault counts as observed.
            _ = _completion.Task.Exception;
        }
    }
}
