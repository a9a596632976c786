using System.Diagnostics;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using StackExchange.Redis;

namespace BendCare.Cache.CacheAside;

internal sealed partial class CacheAsideEngine
{
    /// <summary>
    /// A miss: read the group epoch (for grouped types) before the loader starts, then run the loader once per key
    /// for every concurrent caller that saw the same state, and schedule the write-back.
    /// </summary>
    private async ValueTask<T?> LoadAsync<T, TState>(
        CacheType<T> type,
        string key,
        string id,
        ObservedState observed,
        byte[]? fingerprint,
        TState state,
        Func<TState, CancellationToken, ValueTask<T?>> loader,
        long started,
        long deadline,
        bool readSlow,
        Activity? activity,
        CancellationToken cancellationToken)
    {
        long? epoch = null;
        if (type.Groups is { } groups && observed.IsKnown)
        {
            // Without the epoch the write-back is dropped and the flight is not shared, but the observed state is kept.
            // The next step after the GET: when the GET was slow, running out of time here is charged to its server.
            epoch = await ReadEpochAsync(type, groups, deadline, readSlow ? (RedisKey?)key : null).ConfigureAwait(false);
        }

        // A flight may be shared only when what its leader saw proves that no invalidation came between its start and
        // a joiner's: the same stored bytes (every invalidation writes a new tombstone) and, for grouped types, the same
        // epoch. A caller that could not read Redis sees nothing of other instances' invalidations, so it never joins
        // and is never joined — except with the cache disabled, where no instance has anything to invalidate.
        bool shareable = _connection.IsEnabled
            ? observed.IsKnown && (type.Groups is null || epoch is not null)
            : true;

        while (true)
        {
            object? existing = null;
            if (shareable
                && _flights.TryGetValue(key, out existing)
                && existing is Flight<T> flight
                && flight.Matches(observed, epoch, fingerprint)
                && flight.TryJoin())
            {
                // The loader runs under the leader's span: this one says so and links to it, it does not claim the load.
                CacheTracing.Loader(activity, shared: true, flight.LeaderSpan);
                return await flight.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            var mine = new Flight<T>(observed, epoch, fingerprint, started, activity?.Context ?? default);
            if (shareable && !(existing is null ? _flights.TryAdd(key, mine) : _flights.TryUpdate(key, mine, existing)))
            {
                continue;
            }

            CacheTracing.Loader(activity, shared: false);
            _ = RunFlightAsync(type, key, id, mine, state, loader, shareable);
            return await mine.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs the loader for every caller of the flight under the flight's own token, which is cancelled only when every
    /// caller has given up: one caller cancelling never cancels the load for the others.
    /// </summary>
    private async Task RunFlightAsync<T, TState>(
        CacheType<T> type,
        string key,
        string id,
        Flight<T> flight,
        TState state,
        Func<TState, CancellationToken, ValueTask<T?>> loader,
        bool shared)
    {
        T? value;
        try
        {
            _metrics.LoaderCall(type.Tag);
            value = await loader(state, flight.Token).ConfigureAwait(false);
            flight.SetResult(value);
        }
        catch (OperationCanceledException ex) when (flight.Token.IsCancellationRequested)
        {
            // Every caller gave up: nobody is waiting for this value.
            flight.SetCanceled(ex);
            return;
        }
        catch (Exception ex)
        {
            // The database is the source of truth: its exceptions reach every waiting caller unchanged.
            flight.SetException(ex);
            return;
        }
        finally
        {
            if (shared)
            {
                _flights.TryRemove(new KeyValuePair<string, object>(key, flight));
            }
        }

        if (flight.Observed.IsKnown && (value is not null || flight.Observed.IsUnreadable))
        {
            ScheduleWriteBack(type, key, id, flight, value);
        }
    }

    /// <summary>
    /// Reads the group epoch. A value that is not an integer (a foreign writer) is unknown — no write-back, no shared
    /// flight — and is healed in the background by moving the epoch on, which makes every load in flight drop too.
    /// </summary>
    private async ValueTask<long?> ReadEpochAsync<T>(CacheType<T> type, GroupIndex<T> groups, long deadline, RedisKey? afterSlowStep = null)
    {
        var read = await _connection.ExecuteAsync(groups.EpochKey, static (db, k) => db.StringGetAsync(k), (RedisKey)groups.EpochKey, type.Name, deadline, "GET", afterSlowStep).ConfigureAwait(false);
        if (read.IsOk)
        {
            if (read.Value.IsNull)
            {
                return 0;
            }

            if (read.Value.TryParse(out long epoch))
            {
                return epoch;
            }
        }
        else if (read.Status != OperationStatus.DataError)
        {
            return null;
        }

        HealEpochInBackground(type, groups);
        return null;
    }

    private void HealEpochInBackground<T>(CacheType<T> type, GroupIndex<T> groups)
    {
        if (Interlocked.Exchange(ref _healingEpoch, 1) == 1)
        {
            return;
        }

        _metrics.Unreadable(type.Tag);
        _ = Task.Run(async () =>
        {
            try
            {
                // The same write a role edit makes first: it replaces anything that is not an integer.
                if (!await GroupInvalidation<T>.MoveEpochAsync(_connection, groups, type.Name, _logger).ConfigureAwait(false))
                {
                    Log.BackgroundOperationFailed(_logger, "heal epoch", "Redis did not answer");
                }
            }
            finally
            {
                Volatile.Write(ref _healingEpoch, 0);
            }
        });
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
}
