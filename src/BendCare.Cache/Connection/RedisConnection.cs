using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// Owns the process's one <see cref="IConnectionMultiplexer"/> and is the only code that touches it. Connects in the
/// background (start-up never waits), bounds every guarded operation (requests and background work) by <see cref="BendCareCacheOptions.OperationTimeout"/>,
/// keeps a circuit breaker per primary endpoint, and replaces a multiplexer that stays broken. Every operation returns
/// an <see cref="OperationResult{T}"/>: nothing here throws to a request. Split by concern, like
/// <c>ConnectionMultiplexer.*.cs</c>: <c>.Execution</c> (the request path), <c>.Lifecycle</c> (connect, replace,
/// dispose), <c>.Events</c> (the client's events), <c>.Recovery</c> (the background tick: probes, forced reconnect,
/// eviction watch), <c>.Credentials</c> (credentials that rotate: renewing the connection when the server rejects
/// them, refreshing them on a schedule, replacing a connection by age), <c>.FirstConnect</c>; the jobs with state of
/// their own are classes: <see cref="EndpointBreakers"/>, <see cref="FailureLog"/>, <see cref="TroubleClock"/>,
/// <see cref="BackgroundWork"/>, <see cref="EvictionWatch"/>, <see cref="CredentialSource"/>. A multiplexer the
/// application supplied (<see cref="BendCareCacheOptions.UseConnection(IConnectionMultiplexer)"/>) is used the same
/// way, but never replaced, closed or disposed.
/// </summary>
internal sealed partial class RedisConnection : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How many operation timeouts past its deadline an operation may wait while this process itself runs late (a
    /// starved thread pool): the replies may be stuck behind the same threads, and Redis is not to blame for that.
    /// </summary>
    private const int LateGraceTimeouts = 8;

    private readonly BendCareCacheOptions _options;
    private readonly CacheMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Func<ConfigurationOptions, TextWriter, Task<IConnectionMultiplexer>> _factory;
    private readonly EndpointBreakers _breakers;
    private readonly FailureLog _failures;
    private readonly TroubleClock _trouble;
    private readonly BackgroundWork _background;
    private readonly EvictionWatch _evictions;
    private readonly CredentialSource _credentials;

    /// <summary>False for a multiplexer the application supplied: it is never replaced, closed or disposed here.</summary>
    private readonly bool _ownsMultiplexer;
    private readonly CancellationTokenSource _disposed = new();
    private readonly object _attachGate = new();
    private readonly TaskCompletionSource _firstConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer? _timer;

    /// <summary>
    /// The operation timeout less a little room for the timer and the continuation to run, so a request waits at most
    /// <see cref="BendCareCacheOptions.OperationTimeout"/> in all, not that plus scheduling.
    /// </summary>
    private readonly TimeSpan _timerTimeout;
    private readonly long _timerTimeoutTimestampTicks;

    /// <summary>The one timer that bounds every guarded operation in flight.</summary>
    private readonly OperationDeadlines _deadlines;
    private readonly long _slowReplyTimestampTicks;
    private volatile IConnectionMultiplexer? _multiplexer;
    private volatile IDatabase? _database;

    /// <summary>The configuration the current multiplexer was built with (StackExchange.Redis reads its credentials at each reconnect); null for the application's.</summary>
    private volatile ConfigurationOptions? _config;
    private int _multiplexersCreated;

    internal RedisConnection(
        BendCareCacheOptions options,
        CacheMetrics metrics,
        ILogger logger,
        TimeProvider time,
        Func<ConfigurationOptions, TextWriter, Task<IConnectionMultiplexer>>? factory = null,
        Func<CancellationToken, ValueTask<RedisCredentials>>? credentialsProvider = null,
        IConnectionMultiplexer? applicationMultiplexer = null)
    {
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _factory = factory ?? (static async (config, log) => await ConnectionMultiplexer.ConnectAsync(config, log).ConfigureAwait(false));
        var slack = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(10).Ticks, options.OperationTimeout.Ticks / 10));
        _timerTimeout = options.OperationTimeout - slack;

        // Guarded operations are expired by one sweep, at most one tick after their deadline: set them a tick early.
        var tick = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, Math.Min(TimeSpan.FromMilliseconds(5).Ticks, options.OperationTimeout.Ticks / 20)));
        _deadlines = new OperationDeadlines(time, tick, grace: options.OperationTimeout * LateGraceTimeouts);
        // Never less than half the timeout: with the smallest timeouts (1 ms) a tick early would be before the send.
        var budget = _timerTimeout - tick;
        _timerTimeoutTimestampTicks = (long)((budget > options.OperationTimeout / 2 ? budget : options.OperationTimeout / 2).TotalSeconds * time.TimestampFrequency);
        _slowReplyTimestampTicks = (long)((options.OperationTimeout / 2).TotalSeconds * time.TimestampFrequency);
        _credentials = new CredentialSource(options, credentialsProvider ?? options.CredentialsProvider, time);
        _ownsMultiplexer = applicationMultiplexer is null;
        Endpoint = !options.IsEnabled ? "disabled"
            : applicationMultiplexer is not null ? RedisConfigurationFactory.Describe(applicationMultiplexer)
            : RedisConfigurationFactory.Describe(options, _credentials.IsRotating);
        _failures = new FailureLog(logger, time, Endpoint, options.Password);
        _trouble = new TroubleClock(time, options.BreakerStablePeriod);
        _background = new BackgroundWork(logger);
        _evictions = new EvictionWatch(logger, metrics, time, options.EvictionCheckInterval, options.EvictionRecentWindow);
        _breakers = new EndpointBreakers(NewBreaker);
        metrics.ObserveBreakerState(() => _breakers.State);

        if (!options.IsEnabled)
        {
            Log.CacheDisabled(_logger);
            EndFirstConnect();
            return;
        }

        Log.Connecting(_logger, Endpoint);
        if (applicationMultiplexer is not null)
        {
            // Already connected or connecting on the application's terms: no first-connect wait, nothing to build.
            Attach(applicationMultiplexer, config: null, connectLog: null);
        }
        else
        {
            BeginFirstConnect();
            StartConnect(ConnectReason.First);
        }

        _timer = time.CreateTimer(static state => ((RedisConnection)state!).OnTick(), this, TickInterval, TickInterval);
    }

    public bool IsEnabled => _options.IsEnabled;

    /// <summary>host:port with TLS and user, password masked.</summary>
    public string Endpoint { get; }

    /// <summary>The worst state over the breakers in use (one per primary endpoint on a cluster).</summary>
    public BreakerState BreakerState => _breakers.State;

    /// <summary>How many breakers in use (one per primary on a cluster, plus the connection's own) are not closed.</summary>
    public int BreakersNotClosed => _breakers.NotClosed;

    /// <summary>Whether requests currently use Redis, for every key.</summary>
    public bool IsUsable => _database is not null && _breakers.AllClosed;

    /// <summary>The last failure, redacted (no token id, no password).</summary>
    public string? LastError => _failures.LastError;

    /// <summary>Whether a configuration problem (auth, TLS, permission) was seen within the last few minutes.</summary>
    public bool HasRecentConfigurationProblem => _failures.HasRecentConfigurationProblem;

    /// <summary>Whether a server evicted keys within the last few minutes (freshness then does not hold).</summary>
    public bool HasRecentEvictions => _evictions.SeenRecently;

    /// <summary>Whether the eviction watch could not read every primary's counters at its last check.</summary>
    public bool IsEvictionWatchBlind => _evictions.IsBlind;

    /// <summary>Keys the servers evicted since this instance started watching.</summary>
    public long ServerEvictions => _evictions.Total;

    public int MultiplexersCreated => Volatile.Read(ref _multiplexersCreated);

    internal IConnectionMultiplexer? Multiplexer => _multiplexer;

    /// <summary>Completes when a multiplexer first reports connected (tests and the connection check wait on it).</summary>
    public Task FirstConnected => _firstConnected.Task;

    /// <summary>Work run a few times a second while the multiplexer is connected (replaying remembered invalidations).</summary>
    public void RegisterBackgroundWork(Func<CancellationToken, Task> work) => _background.Register(work);

    private CircuitBreaker NewBreaker()
    {
        var breaker = new CircuitBreaker(_options.BreakerFailureThreshold, _options.BreakerOpenDuration, _options.BreakerMaxOpenDuration, _options.BreakerStablePeriod, _time);
        breaker.StateChanged += OnBreakerStateChanged;
        return breaker;
    }

    private void OnBreakerStateChanged(BreakerState previous, BreakerState current)
    {
        if (current == BreakerState.Open && previous == BreakerState.Closed)
        {
            _trouble.OnTrouble();
            _failures.OnUnavailable();
        }
        else if (current == BreakerState.Closed)
        {
            OnBreakerClosed();
        }
    }

    /// <summary>A breaker closed or dropped out of use: when every one is closed, the episode may end.</summary>
    private void OnBreakerClosed()
    {
        if (_breakers.AllClosed)
        {
            _trouble.OnCalm();
            _failures.OnAvailable();
        }
    }
}
