using System.Collections.Concurrent;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.LocalCache;

/// <summary>
/// The in-process cache's link to every other instance: one invalidation channel in one hash slot (sharded pub/sub
/// on a cluster), a heartbeat that verifies this instance's own subscription, and invalidations that wait for every
/// receiver's acknowledgement or for the verification window, whichever comes first. The proof that no instance serves
/// a value after its invalidation returned is in docs/freshness.md (L1).
/// </summary>
internal sealed class InvalidationBus : IAsyncDisposable
{
    private const int SentRing = 64;
    private const int MaxUnsentTargets = 10_000;

    /// <summary>Room for the receivers' clocks running a little fast, and for the reply reaching us late.</summary>
    private static readonly TimeSpan WaitMargin = TimeSpan.FromMilliseconds(50);

    private readonly RedisConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LocalCacheMetrics _metrics;
    // Concurrent: the subscription may deliver while the cache types are still being given their stores.
    private readonly ConcurrentDictionary<string, LocalStore> _stores = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, PendingBroadcast> _pending = new();
    private readonly ConcurrentQueue<(string Type, string? Id)> _unsent = new();
    private readonly ConcurrentDictionary<string, long> _peers = new(StringComparer.Ordinal);
    private readonly long[] _sentAt = new long[SentRing];
    private readonly string _busName;
    private readonly string _ackPrefix;
    private readonly TimeSpan _wait;
    private readonly ITimer _timer;
    private readonly object _gate = new();
    private IConnectionMultiplexer? _multiplexer;
    private ChannelMessageQueue? _busQueue;
    private ChannelMessageQueue? _ackQueue;
    private RedisChannel _bus;
    private bool _cluster;
    private long _heartbeats;
    private long _lastOwnHeartbeat;
    private long _lastOwnReceipt;
    private long _broadcasts;
    private int _unsentCount;
    private int _subscribing;
    private int _disposed;

    public InvalidationBus(RedisConnection connection, BendCareCacheOptions options, LocalCacheMetrics metrics, ILogger logger, TimeProvider time)
    {
        _connection = connection;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        var local = options.LocalCache;
        InstanceId = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

        // One hash tag for the channel and every acknowledgement channel: one slot, so one shard in cluster mode.
        _busName = "{" + options.KeyPrefix + "bendcare-l1}";
        _ackPrefix = _busName + ":ack:";
        _wait = local.VerificationWindow + WaitMargin;
        Verification = new LocalVerification(time, local.VerificationWindow);
        Verification.Lapsed += () => _metrics.Lapse();
        metrics.ObserveVerified(() => Verification.IsVerified);

        connection.MultiplexerAttached += OnAttached;
        if (connection.Multiplexer is { } current)
        {
            OnAttached(current);
        }

        _timer = time.CreateTimer(static state => ((InvalidationBus)state!).OnTick(), this, local.HeartbeatInterval, local.HeartbeatInterval);
    }

    public string InstanceId { get; }

    public LocalVerification Verification { get; }

    /// <summary>Invalidation targets not yet published (Redis unreachable); retried by the heartbeat.</summary>
    public int Unsent => Volatile.Read(ref _unsentCount);

    /// <summary>The stores, one per cache type with L1 (tests read their sizes).</summary>
    public IEnumerable<LocalStore> Stores => _stores.Values;

    public LocalStore AddStore(string typeName, int maxEntries, long maxBytes)
    {
        var store = new LocalStore(typeName, Verification, _time, maxEntries, maxBytes);
        if (!_stores.TryAdd(typeName, store))
        {
            throw new InvalidOperationException($"{typeName} has an in-process store already.");
        }

        return store;
    }

    /// <summary>
    /// Drops the targets here, then tells every instance and waits for their acknowledgements (at most the verification
    /// window after the channel's reply). Returns false when the message could not be published: it is then retried in
    /// the background, and the caller reports its write as not yet applied everywhere.
    /// </summary>
    public async ValueTask<bool> BroadcastAsync(IReadOnlyList<(string Type, string? Id)> targets, CancellationToken cancellationToken)
    {
        Apply(targets);
        long number = Interlocked.Increment(ref _broadcasts);
        var pending = new PendingBroadcast();
        _pending[number] = pending;
        long started = _time.GetTimestamp();
        try
        {
            string message = BusMessage.Invalidation(InstanceId, number, targets).Encode();
            var published = await PublishAsync(message).ConfigureAwait(false);
            if (!published.IsOk)
            {
                Remember(targets);
                return false;
            }

            // Without our own window open we do not see every instance's heartbeats: wait for the whole window.
            var recent = Verification.IsVerified ? RecentPeers() : null;
            pending.Expect(published.Value, recent ?? [InstanceId, "(unverified writer)"]);
            if (recent is not null && published.Value < recent.Count + 1)
            {
                // Fewer receivers than the instances alive a moment ago, us included: some subscription is moving (a
                // shard failing over re-subscribes its clients without any connection failing). Say it again shortly,
                // when they are back.
                RepublishLater(targets);
            }

            try
            {
                await pending.Task.WaitAsync(_wait, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A receiver stayed silent: its verification window, opened before our message, has closed by now.
                _metrics.SilentReceivers(pending.Missing);
                Log.LocalCacheSilentReceivers(_logger, pending.Missing);
            }

            return true;
        }
        finally
        {
            _pending.TryRemove(number, out _);
            _metrics.BroadcastWait(_time.GetElapsedTime(started));
        }
    }

    /// <summary>
    /// The instances whose heartbeat we saw within the last window and margin: any of them may still be verified by a
    /// heartbeat of its own sent before our message, even if the server no longer counts it as subscribed.
    /// </summary>
    private List<string> RecentPeers()
    {
        long since = _time.GetTimestamp() - (long)(_wait.TotalSeconds * _time.TimestampFrequency);
        var recent = new List<string>();
        foreach (var (peer, seenAt) in _peers)
        {
            if (seenAt >= since)
            {
                recent.Add(peer);
            }
            else
            {
                _peers.TryRemove(new KeyValuePair<string, long>(peer, seenAt));
            }
        }

        return recent;
    }

    /// <summary>
    /// Publishes on the channel the subscribers listen to. Before this instance has subscribed it does not know yet
    /// whether the server is a cluster (sharded channel) or not: it asks the connection, so a message never goes out on
    /// the wrong kind of channel, where it would reach nobody and wait for no one.
    /// </summary>
    private ValueTask<OperationResult<long>> PublishAsync(string message)
    {
        RedisChannel bus;
        lock (_gate)
        {
            bus = _busQueue is not null ? _bus : ChannelFor(_multiplexer, _busName);
        }

        return _connection.ExecuteAsync(_busName, static (db, s) => db.PublishAsync(s.Channel, s.Message), (Channel: bus, Message: message), "local_cache");
    }

    private static bool IsCluster(IConnectionMultiplexer? multiplexer) =>
        multiplexer is not null && multiplexer.GetServers().Any(static s => s.ServerType == ServerType.Cluster);

    private static RedisChannel ChannelFor(IConnectionMultiplexer? multiplexer, string name) =>
        IsCluster(multiplexer) ? RedisChannel.Sharded(name) : RedisChannel.Literal(name);

    private void Apply(IReadOnlyList<(string Type, string? Id)> targets)
    {
        foreach (var (type, id) in targets)
        {
            if (_stores.TryGetValue(type, out var store))
            {
                if (id is null)
                {
                    store.Flush();
                }
                else
                {
                    store.Invalidate(id);
                }
            }
        }
    }

    private void Remember(IReadOnlyList<(string Type, string? Id)> targets)
    {
        foreach (var target in targets)
        {
            _unsent.Enqueue(target);
            Interlocked.Increment(ref _unsentCount);
        }

        if (Volatile.Read(ref _unsentCount) > MaxUnsentTargets)
        {
            // Too many to list (Redis unreachable for long, maybe since start): one flush of every type covers them.
            while (_unsent.TryDequeue(out _))
            {
                Interlocked.Decrement(ref _unsentCount);
            }

            foreach (string type in _stores.Keys)
            {
                _unsent.Enqueue((type, null));
                Interlocked.Increment(ref _unsentCount);
            }
        }
    }

    /// <summary>Publishes these targets again later (once), with nobody waiting: a write Redis had not taken yet.</summary>
    public void RepublishLater(IReadOnlyList<(string Type, string? Id)> targets) => Remember(targets);

    private void OnAttached(IConnectionMultiplexer multiplexer)
    {
        lock (_gate)
        {
            if (_multiplexer is { } previous)
            {
                previous.ConnectionFailed -= OnConnectionFailed;
            }

            // A new connection: what the old one delivered or missed is unknown from here on.
            _multiplexer = multiplexer;
            multiplexer.ConnectionFailed += OnConnectionFailed;
            Unsubscribe();
            Volatile.Write(ref _lastOwnHeartbeat, 0);
        }

        Verification.Lapse();
        _ = SubscribeAsync();
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => Verification.Lapse();

    /// <summary>Drops the current subscriptions (their multiplexer may be closing already); under <see cref="_gate"/>.</summary>
    private void Unsubscribe()
    {
        try
        {
            _busQueue?.Unsubscribe(CommandFlags.FireAndForget);
            _ackQueue?.Unsubscribe(CommandFlags.FireAndForget);
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, "unsubscribe from the invalidation channel", ex.GetType().Name);
        }

        _busQueue = null;
        _ackQueue = null;
    }

    private async Task SubscribeAsync()
    {
        if (Interlocked.Exchange(ref _subscribing, 1) == 1)
        {
            return;
        }

        try
        {
            IConnectionMultiplexer? multiplexer;
            lock (_gate)
            {
                multiplexer = _busQueue is null ? _multiplexer : null;
            }

            if (multiplexer is null || !multiplexer.IsConnected)
            {
                return;
            }

            bool cluster = IsCluster(multiplexer);
            var bus = cluster ? RedisChannel.Sharded(_busName) : RedisChannel.Literal(_busName);
            var ack = cluster ? RedisChannel.Sharded(_ackPrefix + InstanceId) : RedisChannel.Literal(_ackPrefix + InstanceId);
            var subscriber = multiplexer.GetSubscriber();
            var ackQueue = await subscriber.SubscribeAsync(ack, CommandFlags.DemandMaster).ConfigureAwait(false);
            ackQueue.OnMessage(OnAck);
            var busQueue = await subscriber.SubscribeAsync(bus, CommandFlags.DemandMaster).ConfigureAwait(false);

            // In order, one at a time: the proof rests on an invalidation being processed before any later heartbeat.
            busQueue.OnMessage(OnBusMessage);
            lock (_gate)
            {
                if (!ReferenceEquals(multiplexer, _multiplexer) || Volatile.Read(ref _disposed) != 0)
                {
                    busQueue.Unsubscribe(CommandFlags.FireAndForget);
                    ackQueue.Unsubscribe(CommandFlags.FireAndForget);
                    return;
                }

                _cluster = cluster;
                _bus = bus;
                Volatile.Write(ref _lastOwnReceipt, _time.GetTimestamp());
                _busQueue = busQueue;
                _ackQueue = ackQueue;
            }
        }
        catch (Exception ex)
        {
            // Not connected yet, or the server refused (no pub/sub permission): the heartbeat tries again.
            Log.BackgroundOperationFailed(_logger, "subscribe to the invalidation channel", ex.GetType().Name);
        }
        finally
        {
            Volatile.Write(ref _subscribing, 0);
        }
    }

    private void OnTick()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        IConnectionMultiplexer? multiplexer;
        RedisChannel bus;
        lock (_gate)
        {
            multiplexer = _busQueue is null ? null : _multiplexer;
            bus = _bus;
        }

        if (multiplexer is null)
        {
            _ = SubscribeAsync();
            return;
        }

        if (_time.GetTimestamp() - Volatile.Read(ref _lastOwnReceipt) > 10 * (long)(_wait.TotalSeconds * _time.TimestampFrequency))
        {
            // Subscribed, connected, yet none of our heartbeats came back for ten windows: the subscription is gone
            // without an event (a shared multiplexer's UnsubscribeAll, a server that dropped us quietly). Start again.
            lock (_gate)
            {
                Unsubscribe();
            }

            Verification.Lapse();
            Volatile.Write(ref _lastOwnReceipt, _time.GetTimestamp());
            _ = SubscribeAsync();
            return;
        }

        long number = Interlocked.Increment(ref _heartbeats);

        // Taken before the publish: the window it opens can only be shorter than the truth, never longer.
        Volatile.Write(ref _sentAt[number % SentRing], _time.GetTimestamp());
        try
        {
            multiplexer.GetSubscriber().Publish(bus, BusMessage.Heartbeat(InstanceId, number).Encode(), CommandFlags.FireAndForget);
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, "publish a heartbeat", ex.GetType().Name);
        }

        if (!_unsent.IsEmpty)
        {
            _ = RepublishAsync();
        }
    }

    /// <summary>Publishes what could not be published when it happened; nobody waits for these acknowledgements.</summary>
    private async Task RepublishAsync()
    {
        // Past MaxUnsentTargets the queue was collapsed into one flush per type already (Remember).
        var batch = new List<(string, string?)>();
        while (batch.Count < 256 && _unsent.TryDequeue(out var target))
        {
            Interlocked.Decrement(ref _unsentCount);
            batch.Add(target);
        }

        if (batch.Count == 0)
        {
            return;
        }

        long number = Interlocked.Increment(ref _broadcasts);
        var published = await PublishAsync(BusMessage.Invalidation(InstanceId, number, batch).Encode()).ConfigureAwait(false);
        if (!published.IsOk)
        {
            Remember(batch);
        }
    }

    private void OnBusMessage(ChannelMessage message)
    {
        if (!BusMessage.TryDecode(message.Message, out var parsed))
        {
            return;
        }

        if (parsed.Kind == BusMessageKind.Heartbeat)
        {
            if (string.Equals(parsed.Sender, InstanceId, StringComparison.Ordinal))
            {
                OnOwnHeartbeat(parsed.Number);
            }
            else
            {
                _peers[parsed.Sender] = _time.GetTimestamp();
            }

            return;
        }

        if (parsed.Kind != BusMessageKind.Invalidation)
        {
            return;
        }

        Apply(parsed.Targets);

        // Acknowledged only after the drop above; our own message too, so the count the channel replied holds.
        var ack = _cluster ? RedisChannel.Sharded(_ackPrefix + parsed.Sender) : RedisChannel.Literal(_ackPrefix + parsed.Sender);
        try
        {
            _multiplexer?.GetSubscriber().Publish(ack, BusMessage.Ack(InstanceId, parsed.Number).Encode(), CommandFlags.FireAndForget);
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, "acknowledge an invalidation", ex.GetType().Name);
        }
    }

    private void OnOwnHeartbeat(long number)
    {
        long last = Volatile.Read(ref _lastOwnHeartbeat);
        if (number <= last)
        {
            return;
        }

        if (last != 0 && number != last + 1)
        {
            // A heartbeat of ours went missing: so may an invalidation have.
            Verification.Lapse();
        }

        Volatile.Write(ref _lastOwnHeartbeat, number);
        Volatile.Write(ref _lastOwnReceipt, _time.GetTimestamp());
        if (Volatile.Read(ref _heartbeats) - number < SentRing)
        {
            Verification.Verify(Volatile.Read(ref _sentAt[number % SentRing]));
        }
    }

    private void OnAck(ChannelMessage message)
    {
        if (BusMessage.TryDecode(message.Message, out var parsed) && parsed.Kind == BusMessageKind.Ack && _pending.TryGetValue(parsed.Number, out var pending))
        {
            pending.Received(parsed.Sender);
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _timer.Dispose();
        _connection.MultiplexerAttached -= OnAttached;
        lock (_gate)
        {
            if (_multiplexer is { } multiplexer)
            {
                multiplexer.ConnectionFailed -= OnConnectionFailed;
            }

            Unsubscribe();
        }

        Verification.Lapse();
        return ValueTask.CompletedTask;
    }

    /// <summary>One broadcast's acknowledgements; they may arrive before the channel's reply tells how many to expect.</summary>
    private sealed class PendingBroadcast
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly HashSet<string> _ackers = new(StringComparer.Ordinal);
        private readonly object _gate = new();
        private long _expected = -1;
        private IReadOnlyCollection<string> _required = [];

        public Task Task => _done.Task;

        public long Missing
        {
            get
            {
                lock (_gate)
                {
                    long missingRequired = _required.Count(r => !_ackers.Contains(r));
                    return Math.Max(Math.Max(0, _expected - _ackers.Count), missingRequired);
                }
            }
        }

        /// <summary>
        /// Done once as many instances as the channel counted have acknowledged AND every instance seen alive lately has:
        /// one the server dropped without it noticing is not counted, but its window may still be open.
        /// </summary>
        public void Expect(long receivers, IReadOnlyCollection<string> required)
        {
            lock (_gate)
            {
                _expected = receivers;
                _required = required;
                CompleteIfDone();
            }
        }

        public void Received(string sender)
        {
            lock (_gate)
            {
                _ackers.Add(sender);
                CompleteIfDone();
            }
        }

        private void CompleteIfDone()
        {
            if (_expected >= 0 && _ackers.Count >= _expected && _required.All(_ackers.Contains))
            {
                _done.TrySetResult();
            }
        }
    }
}
