using System.Runtime.CompilerServices;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// Owns the process's one <see cref="IConnectionMultiplexer"/> and is the only code that touches it. Connects in the
/// background (start-up never waits), bounds every request-path operation by <see cref="BendCareCacheOptions.OperationTimeout"/>,
/// keeps a circuit breaker, and replaces a multiplexer that stays broken. Every operation returns an
/// <see cref="OperationResult{T}"/>: nothing here throws to a request.
/// </summary>
internal sealed partial class RedisConnection : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan ConfigurationErrorLogInterval = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan UnavailableLogInterval = TimeSpan.FromMinutes(1);

    private readonly BendCareCacheOptions _options;
    private readonly CacheMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Func<ConfigurationOptions, TextWriter, Task<IConnectionMultiplexer>> _factory;
    private readonly CircuitBreaker _breaker;
    private readonly CancellationTokenSource _disposed = new();
    private readonly object _attachGate = new();
    private readonly TaskCompletionSource _firstConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Func<CancellationToken, Task>> _backgroundWork = [];
    private readonly ITimer? _timer;

    /// <summary>
    /// The operation timeout less a little room for the timer and the continuation to run, so a request waits at most
    /// <see cref="BendCareCacheOptions.OperationTimeout"/> in all, not that plus scheduling.
    /// </summary>
    private readonly TimeSpan _timerTimeout;
    private readonly long _timerTimeoutTimestampTicks;
    private readonly TimeSpan _slowReply;
    private volatile IConnectionMultiplexer? _multiplexer;
    private volatile IDatabase? _database;
    private int _multiplexersCreated;
    private int _connecting;
    private int _backgroundRunning;
    private long _lastReplacement;
    private long _lastConfigurationErrorLog;
    private long _lastUnavailableLog;
    private int _recoveryOwed;
    private volatile string? _lastError;
    private FailureReason _lastReason;

    public RedisConnection(
        BendCareCacheOptions options,
        CacheMetrics metrics,
        ILogger logger,
        TimeProvider time,
        Func<ConfigurationOptions, TextWriter, Task<IConnectionMultiplexer>>? factory = null)
    {
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _factory = factory ?? (static async (config, log) => await ConnectionMultiplexer.ConnectAsync(config, log).ConfigureAwait(false));
        var slack = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(10).Ticks, options.OperationTimeout.Ticks / 10));
        _timerTimeout = options.OperationTimeout - slack;
        _timerTimeoutTimestampTicks = (long)(_timerTimeout.TotalSeconds * time.TimestampFrequency);
        _slowReply = options.OperationTimeout / 2;
        _breaker = new CircuitBreaker(options.BreakerFailureThreshold, options.BreakerOpenDuration, options.BreakerMaxOpenDuration, time);
        _breaker.StateChanged += OnBreakerStateChanged;
        metrics.ObserveBreakerState(() => _breaker.State);
        Endpoint = options.IsEnabled ? RedisConfigurationFactory.Describe(options) : "disabled";

        if (!options.IsEnabled)
        {
            Log.CacheDisabled(_logger);
            return;
        }

        Log.Connecting(_logger, Endpoint);
        StartConnect();
        _timer = time.CreateTimer(static state => ((RedisConnection)state!).OnTick(), this, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
    }

    public bool IsEnabled => _options.IsEnabled;

    /// <summary>host:port with TLS and user, password masked.</summary>
    public string Endpoint { get; }

    public BreakerState BreakerState => _breaker.State;

    /// <summary>Whether requests currently use Redis.</summary>
    public bool IsUsable => _database is not null && _breaker.State == BreakerState.Closed;

    public string? LastError => _lastError;

    public int MultiplexersCreated => Volatile.Read(ref _multiplexersCreated);

    internal IConnectionMultiplexer? Multiplexer => _multiplexer;

    /// <summary>Completes when a multiplexer first reports connected (tests and the connection check wait on it).</summary>
    public Task FirstConnected => _firstConnected.Task;

    /// <summary>Work run a few times a second while the multiplexer is connected (replaying remembered invalidations).</summary>
    public void RegisterBackgroundWork(Func<CancellationToken, Task> work)
    {
        lock (_backgroundWork)
        {
            _backgroundWork.Add(work);
        }
    }

    /// <summary>
    /// Runs one Redis operation when the cache is usable, bounded by the operation timeout. The delegate is static and
    /// gets its state passed in, so the hot path allocates no closure.
    /// </summary>
    /// <param name="route">The key the operation touches: its hash slot tells which server (and breaker) serves it.</param>
    /// <param name="operation">The Redis call.</param>
    /// <param name="state">Passed to <paramref name="operation"/>.</param>
    /// <param name="cacheType">The metrics tag.</param>
    /// <param name="deadline">
    /// A <see cref="NewDeadline"/> shared by every step of one request's Redis phase, so the whole phase waits at most
    /// one operation timeout; 0 = a fresh deadline for this operation alone.
    /// </param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<OperationResult<T>> ExecuteAsync<TState, T>(RedisKey route, Func<IDatabase, TState, Task<T>> operation, TState state, string cacheType, long deadline = 0)
    {
        var database = _database;

        // Requests never probe a broken Redis: the background probe does, so no request pays for it.
        if (database is null || _breaker.State != BreakerState.Closed)
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

        Task<T>? task = null;
        try
        {
            task = operation(database, state);
            T value = task.IsCompleted
                ? await task.ConfigureAwait(false)
                : await task.WaitAsync(budget, _time).ConfigureAwait(false);

            // A reply that took more than half the timeout is no proof of health: it neither resets the failure count
            // nor adds to it, so a Redis slow enough to push a request's later steps past the timeout opens the breaker.
            if (deadline == 0 || _time.GetElapsedTime(sent) < _slowReply)
            {
                _breaker.OnRequestSuccess();
            }
            return new OperationResult<T>(value);
        }
        catch (Exception ex)
        {
            return new OperationResult<T>(OnOperationFailed(task, ex, cacheType));
        }
    }

    /// <summary>A deadline one operation timeout from now, for a request whose Redis phase has several steps.</summary>
    public long NewDeadline() => _time.GetTimestamp() + _timerTimeoutTimestampTicks;

    private OperationStatus OnOperationFailed(Task? task, Exception exception, string cacheType)
    {
        if (FailureClassifier.IsDataError(exception))
        {
            // Redis answered: it is healthy, the data at the key is not.
            _breaker.OnRequestSuccess();
            return OperationStatus.DataError;
        }

        if (task is not null && !task.IsCompleted)
        {
            // Timed out: the operation may still finish; observe it so its fault is not reported as unobserved.
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _metrics.Timeout(cacheType);
            RecordFailure(FailureReason.Timeout, exception);
        }
        else
        {
            _metrics.RedisError(cacheType);
            RecordFailure(FailureClassifier.Classify(exception), exception);
        }

        _breaker.OnFailure();
        return OperationStatus.Failed;
    }

    private void RecordFailure(FailureReason reason, Exception exception)
    {
        _lastReason = reason;
        _lastError = $"{reason}: {exception.GetType().Name}: {FirstLine(exception.Message)}";
        if (FailureClassifier.IsConfigurationProblem(reason))
        {
            // A permanent NOPERM on one command never opens the breaker (the GETs keep succeeding), so it is logged
            // here, whatever the breaker does.
            LogConfigurationProblemRarely(reason);
        }
    }

    /// <summary>Logs a configuration problem at its first occurrence, then at most every few minutes while it lasts.</summary>
    private void LogConfigurationProblemRarely(FailureReason reason)
    {
        long now = _time.GetTimestamp();
        long last = Volatile.Read(ref _lastConfigurationErrorLog);
        if ((last == 0 || _time.GetElapsedTime(last, now) >= ConfigurationErrorLogInterval)
            && Interlocked.CompareExchange(ref _lastConfigurationErrorLog, now, last) == last)
        {
            Log.ConfigurationProblem(_logger, reason.ToString(), Endpoint, _lastError);
        }
    }

    /// <summary>Whether a configuration problem (auth, TLS, permission) was seen within the last few minutes.</summary>
    public bool HasRecentConfigurationProblem
    {
        get
        {
            long last = Volatile.Read(ref _lastConfigurationErrorLog);
            return last != 0 && _time.GetElapsedTime(last) < ConfigurationErrorLogInterval;
        }
    }

    private static string FirstLine(string message) => ErrorText.FirstLine(message, maxLength: 300);

    private void OnBreakerStateChanged(BreakerState previous, BreakerState current)
    {
        if (current == BreakerState.Open && previous == BreakerState.Closed)
        {
            var reason = _lastReason;
            if (FailureClassifier.IsConfigurationProblem(reason))
            {
                Volatile.Write(ref _recoveryOwed, 1);
                LogConfigurationProblemRarely(reason);
            }
            else
            {
                // A flapping breaker (one dead cluster shard: PINGs succeed, its keys fail) changes state every few
                // hundred milliseconds; one warning per minute says all there is to say.
                long now = _time.GetTimestamp();
                long last = Volatile.Read(ref _lastUnavailableLog);
                if ((last == 0 || _time.GetElapsedTime(last, now) >= UnavailableLogInterval)
                    && Interlocked.CompareExchange(ref _lastUnavailableLog, now, last) == last)
                {
                    Volatile.Write(ref _recoveryOwed, 1);
                    Log.CacheUnavailable(_logger, reason.ToString(), Endpoint, _lastError);
                }
            }
        }
        else if (current == BreakerState.Closed && Interlocked.Exchange(ref _recoveryOwed, 0) == 1)
        {
            Log.CacheRecovered(_logger, Endpoint);
        }
    }

    private void StartConnect()
    {
        if (Interlocked.Exchange(ref _connecting, 1) == 1)
        {
            return;
        }

        _ = Task.Run(ConnectAsync);
    }

    private async Task ConnectAsync()
    {
        var delay = TimeSpan.FromMilliseconds(250);
        try
        {
            while (!_disposed.IsCancellationRequested)
            {
                try
                {
                    var config = RedisConfigurationFactory.Create(_options);
                    using var connectLog = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
                    var multiplexer = await _factory(config, connectLog).ConfigureAwait(false);
                    Interlocked.Increment(ref _multiplexersCreated);
                    Attach(multiplexer, connectLog.ToString());
                    return;
                }
                catch (Exception ex) when (!_disposed.IsCancellationRequested)
                {
                    // AbortOnConnectFail=false returns a multiplexer even when the server is down; getting here means
                    // something like an unparsable endpoint. Keep trying, quietly, with a capped back-off.
                    RecordFailure(FailureClassifier.Classify(ex), ex);
                    _breaker.Trip();
                    await Task.Delay(delay, _time, _disposed.Token).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed while connecting.
        }
        finally
        {
            Volatile.Write(ref _connecting, 0);
        }
    }

    private void Attach(IConnectionMultiplexer multiplexer, string connectLog)
    {
        IConnectionMultiplexer? previous;
        lock (_attachGate)
        {
            // Under the lock DisposeAsync takes too: a connection built while disposing is never left behind.
            if (_disposed.IsCancellationRequested)
            {
                multiplexer.Dispose();
                return;
            }

            multiplexer.ConnectionFailed += OnConnectionFailed;
            multiplexer.ConnectionRestored += OnConnectionRestored;
            multiplexer.ConfigurationChanged += OnTopologyChanged;
            multiplexer.HashSlotMoved += OnTopologyChanged;
            previous = _multiplexer;
            _multiplexer = multiplexer;
            _database = multiplexer.GetDatabase();
        }

        Volatile.Write(ref _lastReplacement, _time.GetTimestamp());

        if (multiplexer.IsConnected)
        {
            MarkConnected(multiplexer);
            _breaker.AllowProbeNow();
        }
        else
        {
            // The failure events of the first attempt fire before we can subscribe; the client's connect log says why.
            var reason = FailureClassifier.ClassifyConnectLog(connectLog, _options.UseTls);
            _lastReason = reason;
            _lastError = $"{reason}: the first connection attempt failed";

            _breaker.Trip();
        }

        if (previous is not null)
        {
            _ = RetireAsync(previous);
        }
    }

    private async Task RetireAsync(IConnectionMultiplexer old)
    {
        Detach(old);
        try
        {
            // Callers that picked the old database just before the swap finish (or time out) first.
            await Task.Delay(_options.OperationTimeout + _options.OperationTimeout, _time).ConfigureAwait(false);
            await old.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, "close replaced connection", ex.GetType().Name);
        }
        finally
        {
            old.Dispose();
        }
    }

    private void Detach(IConnectionMultiplexer multiplexer)
    {
        multiplexer.ConnectionFailed -= OnConnectionFailed;
        multiplexer.ConnectionRestored -= OnConnectionRestored;
        multiplexer.ConfigurationChanged -= OnTopologyChanged;
        multiplexer.HashSlotMoved -= OnTopologyChanged;
    }

    /// <summary>
    /// A replica was promoted or slots moved (a cluster failover): the dead node stays dead, so no "restored" event
    /// comes. Probe now rather than wait out a back-off that began before the promotion.
    /// </summary>
    private void OnTopologyChanged(object? sender, EventArgs e)
    {
        _breaker.AllowProbeNow();
        OnTick();
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Interactive)
        {
            return;
        }

        var reason = FailureClassifier.Classify(e.FailureType, e.Exception);
        _lastReason = reason;
        _lastError = $"{reason}: {e.FailureType}" + (e.Exception is null ? "" : $": {FirstLine(e.Exception.Message)}");
        _breaker.Trip();
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Interactive)
        {
            return;
        }

        MarkConnected(_multiplexer);
        _breaker.AllowProbeNow();
        OnTick();
    }

    private void MarkConnected(IConnectionMultiplexer? multiplexer)
    {
        if (_firstConnected.TrySetResult())
        {
            Log.Connected(_logger, Endpoint, ServerDescription(multiplexer));
        }
    }

    private static string ServerDescription(IConnectionMultiplexer? multiplexer)
    {
        try
        {
            var server = multiplexer?.GetServers().FirstOrDefault(s => s.IsConnected);
            return server is null ? "unknown server" : $"{server.ServerType} {server.Version}";
        }
        catch (Exception ex) when (ex is RedisException or InvalidOperationException or NotSupportedException)
        {
            return "unknown server";
        }
    }

    private void OnTick()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        MaybeReplaceMultiplexer();
        var multiplexer = _multiplexer;
        if (multiplexer is null || !multiplexer.IsConnected)
        {
            return;
        }

        // The breaker is open and the client has a connection: one PING tells whether Redis answers again.
        if (_breaker.State != BreakerState.Closed && _breaker.AllowRequest())
        {
            _ = ProbeAsync(multiplexer);
        }

        if (Interlocked.Exchange(ref _backgroundRunning, 1) == 0)
        {
            _ = RunBackgroundWorkAsync();
        }
    }

    /// <summary>A PING bounded by the operation timeout, off the request path; its outcome closes or re-opens the breaker.</summary>
    private async Task ProbeAsync(IConnectionMultiplexer multiplexer)
    {
        Task<TimeSpan>? ping = null;
        try
        {
            ping = multiplexer.GetDatabase().PingAsync();
            await ping.WaitAsync(_timerTimeout, _time).ConfigureAwait(false);
            _breaker.OnSuccess();
        }
        catch (Exception ex)
        {
            OnOperationFailed(ping, ex, "probe");
        }
    }

    private async Task RunBackgroundWorkAsync()
    {
        try
        {
            Func<CancellationToken, Task>[] work;
            lock (_backgroundWork)
            {
                work = [.. _backgroundWork];
            }

            foreach (var item in work)
            {
                await item(_disposed.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_disposed.IsCancellationRequested)
        {
            Log.BackgroundOperationFailed(_logger, "background work", ex.GetType().Name);
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
        finally
        {
            Volatile.Write(ref _backgroundRunning, 0);
        }
    }

    /// <summary>
    /// A multiplexer can report itself connected while every operation on it fails or hangs (a known failure mode
    /// after failovers and half-dead sockets). When the breaker has not been closed for
    /// <see cref="BendCareCacheOptions.ReconnectAfter"/>, build a fresh one, at most once per
    /// <see cref="BendCareCacheOptions.MinReconnectInterval"/>.
    /// </summary>
    private void MaybeReplaceMultiplexer()
    {
        long openedAt = _breaker.OpenedAt;
        if (openedAt == 0 || _multiplexer is null)
        {
            return;
        }

        long now = _time.GetTimestamp();
        if (_time.GetElapsedTime(openedAt, now) < _options.ReconnectAfter
            || _time.GetElapsedTime(Volatile.Read(ref _lastReplacement), now) < _options.MinReconnectInterval)
        {
            return;
        }

        Volatile.Write(ref _lastReplacement, now);
        Log.ForcedReconnect(_logger, Endpoint, _time.GetElapsedTime(openedAt, now).TotalSeconds);
        _metrics.Reconnect();
        StartConnect();
    }

    /// <summary>Synchronous disposal for containers disposed with <c>Dispose()</c> (console apps, <c>using var provider</c>).</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        IConnectionMultiplexer? multiplexer;
        lock (_attachGate)
        {
            _disposed.Cancel();
            multiplexer = _multiplexer;
            _database = null;
            _multiplexer = null;
        }

        _timer?.Dispose();
        if (multiplexer is not null)
        {
            Detach(multiplexer);
            await multiplexer.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            multiplexer.Dispose();
        }

    }
}
