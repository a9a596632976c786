using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace BendCare.Cache;

/// <summary>
/// Options of the BendCare cache. <c>AddBendCareRedisCache()</c> fills the connection settings from
/// <c>REDIS_HOST</c>, <c>REDIS_PORT</c>, <c>REDIS_USERNAME</c>, <c>REDIS_PASSWORD</c> and <c>REDIS_TLS</c>, and
/// everything else from the <c>BendCareCache</c> configuration section. Invalid values fail at startup with a
/// message naming the option. The options table with every environment variable, section key and default is
/// <c>docs/configuration.md</c>.
/// </summary>
public sealed class BendCareCacheOptions
{
    /// <summary>The configuration section read by <c>AddBendCareRedisCache()</c> for the options other than the <c>REDIS_*</c> variables.</summary>
    public const string SectionName = "BendCareCache";

    // Limits of the [Range] attributes below; attribute arguments must be constants, so TimeSpans are written as strings.
    // [Range] carries no ErrorMessage: the generated validator's copy of RangeAttribute always writes its own text
    // ("The field BendCareCacheOptions.X must be between ..."), which names the option.
    private const string Zero = "00:00:00";
    private const string Forever = "10675199.02:48:05.4775807";

    // The constructors of [Range(typeof(TimeSpan), ...)] and [MaxLength] are marked RequiresUnreferencedCode because
    // reflection-based validation converts the limits through TypeDescriptor. These attributes are only ever evaluated
    // by the source-generated BendCareCacheAttributeValidator, which emits its own reflection-free copies of them.
#pragma warning disable IL2026

    /// <summary>Redis/Valkey host name or address (<c>REDIS_HOST</c>). Empty or <see langword="null"/> disables the cache: every getter calls its loader.</summary>
    /// <value>The default is <see langword="null"/> (cache disabled). When set, it must not contain spaces or control characters.</value>
    public string? Host { get; set; }

    /// <summary>Port (<c>REDIS_PORT</c>), also with TLS (ElastiCache Serverless listens on 6379 with TLS).</summary>
    /// <value>The default is 6379. When the cache is enabled, it must be between 1 and 65535 (not checked when disabled).</value>
    public int Port { get; set; } = 6379;

    /// <summary>ACL user name (<c>REDIS_USERNAME</c>).</summary>
    /// <value>The default is <see langword="null"/> (the <c>default</c> user).</value>
    public string? Username { get; set; }

    /// <summary>Password (<c>REDIS_PASSWORD</c>). Never logged.</summary>
    /// <value>The default is <see langword="null"/> (no password).</value>
    public string? Password { get; set; }

    /// <summary>Whether to connect with TLS (<c>REDIS_TLS</c>); production (ElastiCache) needs <see langword="true"/>.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool UseTls { get; set; }

    /// <summary>Prefix of every key, e.g. <c>bcos:staging:</c>.</summary>
    /// <value>The default is empty (no prefix). It must not be <see langword="null"/> and must be at most 128 characters without control characters.</value>
    [Required(AllowEmptyStrings = true, ErrorMessage = "{0} must not be null (use \"\" for no prefix).")]
    [MaxLength(128, ErrorMessage = "{0} must be at most 128 characters.")]
    public string KeyPrefix { get; set; } = "";

    /// <summary>Lifetime of a cached user context.</summary>
    /// <value>The default is 5 minutes. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan UserContextTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Lifetime of cached role permissions.</summary>
    /// <value>The default is 24 hours. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan RolePermissionsTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Lifetime of cached user basic info.</summary>
    /// <value>The default is 5 minutes. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan UserBasicTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The longest a blacklisting lives in the cache. A blacklisting lives until the token's expiry plus
    /// <see cref="TokenClockSkew"/> when that is sooner, but never shorter than <see cref="TokenNotBlacklistedTtl"/>
    /// plus 30 seconds, so that no "not blacklisted" answer loaded before it can be written back after it expired.
    /// </summary>
    /// <value>The default is 1 hour. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan TokenBlacklistedTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long past its expiry token validation still accepts a token: JwtBearer's <c>ClockSkew</c>. A blacklisting
    /// covers the token at least until its expiry plus this.
    /// </summary>
    /// <value>The default is 5 minutes (JwtBearer's default). It must be between 0 and 1 day.</value>
    [Range(typeof(TimeSpan), Zero, "1.00:00:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan TokenClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Lifetime of a cached "not blacklisted" answer.</summary>
    /// <value>The default is 1 minute. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan TokenNotBlacklistedTtl { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Lifetime of a cached JWT payload; never past the token's expiry.</summary>
    /// <value>The default is 5 minutes. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan JwtPayloadTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Applied last to the StackExchange.Redis configuration built from these options: extra TLS trust (a private CA),
    /// client name, timeouts.
    /// </summary>
    /// <value>The default is <see langword="null"/> (nothing applied).</value>
    public Action<ConfigurationOptions>? ConfigureConnection { get; set; }

    /// <summary>
    /// Asked for the user name and password each time the library builds a connection, instead of using
    /// <see cref="Username"/> and <see cref="Password"/> (<c>REDIS_USERNAME</c>/<c>REDIS_PASSWORD</c> are then not used):
    /// credentials rotated in AWS Secrets Manager, or an ElastiCache IAM authentication token generated on each call,
    /// are picked up without a restart. An <see cref="IRedisCredentialsProvider"/> registered in the container does the
    /// same when this is not set.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Called before the first connection; again before each replacement of the connection, which happens when the
    /// server rejects the credentials on a reconnect (WRONGPASS/NOAUTH: at once, then with a back-off up to 30 s while it
    /// keeps rejecting them), when <see cref="MaxConnectionAge"/> is reached, or when the connection stayed broken for
    /// <see cref="ReconnectAfter"/>; and every <see cref="CredentialsRefreshInterval"/> when that is set. Never on a
    /// request: while it runs, requests use the current connection if it works and their loaders otherwise.
    /// </para>
    /// <para>
    /// Each call may take <see cref="CredentialsTimeout"/>; then its token is cancelled and the call abandoned. A
    /// provider that throws, returns <see langword="null"/> or times out is logged as one Error (event 2011, at most every
    /// 5 minutes, the health check Degraded) and asked again later (back-off from 250 ms to 30 s); no exception reaches a
    /// caller of the cache. Not allowed together with <see cref="UseConnection(IConnectionMultiplexer)"/>.
    /// </para>
    /// </remarks>
    /// <value>The default is <see langword="null"/>: <see cref="Username"/> and <see cref="Password"/> are used.</value>
    public Func<CancellationToken, ValueTask<RedisCredentials>>? CredentialsProvider { get; set; }

    /// <summary>The longest one call of the credentials provider may take before it is cancelled and counted as failed.</summary>
    /// <value>The default is 5 seconds. It must be positive and at most 1 minute.</value>
    [Range(typeof(TimeSpan), Zero, "00:01:00", MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan CredentialsTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often the credentials provider is asked again while the connection works, so that the client's own
    /// reconnects (after a network blip, a failover, a server closing an old connection) authenticate with credentials
    /// that are still valid. The fresh credentials are handed to the current connection, which StackExchange.Redis reads
    /// at each reconnect; the connections already open are not touched. For ElastiCache IAM authentication tokens
    /// (valid 15 minutes) use 10 minutes or less. A failed refresh is logged (event 2011) and retried after at most 30 s;
    /// the current connection keeps working.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: the provider is asked only when a connection is built. When set, it must be
    /// positive and at most 1 day; without a credentials provider it has no effect.
    /// </value>
    public TimeSpan? CredentialsRefreshInterval { get; set; }

    /// <summary>
    /// The age at which the library replaces its connection with a new one, built with fresh credentials: the new
    /// connection is put in use only once it is connected (requests keep using the old one until then), and the old one
    /// is closed after the operations in flight on it. ElastiCache closes connections after 12 hours; 11 hours keeps
    /// every connection of the library younger than that. A replacement that fails (provider failing, server not
    /// answering) keeps the old connection and is tried again after <see cref="MinReconnectInterval"/>. Replacements are at
    /// most one per <see cref="MinReconnectInterval"/>, so an age below it acts as that interval.
    /// </summary>
    /// <value>The default is <see langword="null"/> (never replaced for its age). When set, it must be positive.</value>
    public TimeSpan? MaxConnectionAge { get; set; }

    /// <summary>
    /// Uses a multiplexer the application already owns instead of building one. The library then uses
    /// <paramref name="connection"/> as it is and never disposes it; see the overload taking a factory for exactly what
    /// the library then does and does not do.
    /// </summary>
    /// <param name="connection">The application's multiplexer; it stays the application's to dispose.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is <see langword="null"/>.</exception>
    public void UseConnection(IConnectionMultiplexer connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ConnectionFactory = _ => connection;
    }

    /// <summary>
    /// Uses a multiplexer the application owns, taken from <paramref name="connectionFactory"/> once, when the cache's
    /// connection is first resolved (at host start), e.g. <c>o.UseConnection(sp =&gt; sp.GetRequiredService&lt;IConnectionMultiplexer&gt;())</c>.
    /// The cache is then enabled whatever <see cref="Host"/> says.
    /// </summary>
    /// <remarks>
    /// <para>
    /// What the library then does not do: it never disposes or closes the multiplexer (disposing the service provider
    /// leaves it open); it never replaces it, not even when it stays broken for <see cref="ReconnectAfter"/> (it logs
    /// Warning 2013 instead, at most every 5 minutes, and keeps answering from the loaders until the multiplexer recovers
    /// by itself); it applies none of its own client settings (<see cref="Host"/>, <see cref="Port"/>,
    /// <see cref="Username"/>, <see cref="Password"/>, <see cref="UseTls"/>, <see cref="ConnectTimeout"/>, fail-fast
    /// backlog, fast reconnect, keep-alive, the client name, the tie-breaker, configuration channel and CONFIG settings
    /// that keep the ACL rule short, <c>AllowAdmin</c>), so <see cref="ConfigureConnection"/>,
    /// <see cref="CredentialsProvider"/>, <see cref="CredentialsRefreshInterval"/> and <see cref="MaxConnectionAge"/>
    /// are rejected at start-up with it; and no request waits for a first connect: while the multiplexer is not
    /// connected, requests use their loaders.
    /// </para>
    /// <para>
    /// What still works: the per-operation <see cref="OperationTimeout"/>, the circuit breakers and their background
    /// probes, the replay of invalidations remembered during an outage, the health check, metrics and logs, and the
    /// eviction watch (it reads <c>INFO</c>, which StackExchange.Redis sends only with <c>AllowAdmin = true</c> on the
    /// multiplexer's configuration; without it the watch logs Warning 2009 and the health check is Degraded).
    /// </para>
    /// </remarks>
    /// <param name="connectionFactory">Returns the application's multiplexer; it must not return <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connectionFactory"/> is <see langword="null"/>.</exception>
    public void UseConnection(Func<IServiceProvider, IConnectionMultiplexer> connectionFactory)
    {
        ArgumentNullException.ThrowIfNull(connectionFactory);
        ConnectionFactory = connectionFactory;
    }

    /// <summary>The application's multiplexer, when <see cref="UseConnection(Func{IServiceProvider, IConnectionMultiplexer})"/> was called.</summary>
    internal Func<IServiceProvider, IConnectionMultiplexer>? ConnectionFactory { get; private set; }

    /// <summary>
    /// Whether spans carry the user id (<c>bendcare.cache.user_id</c>) or role id (<c>bendcare.cache.role_id</c>) of
    /// the operation, for following one user's requests in a trace store. Token ids (blacklist, JWT payload) are never
    /// put in a span, whatever this says; keys never are.
    /// </summary>
    /// <value>The default is <see langword="false"/> (spans name the cache type only).</value>
    public bool TraceIds { get; set; }

    /// <summary>
    /// The longest a request waits for one Redis operation before it treats the cache as a miss and calls the loader.
    /// StackExchange.Redis' own timeouts (5 s) are never what a request waits on.
    /// </summary>
    /// <value>
    /// The default is 150 ms. It must be positive and at most 10 seconds: requests wait this long at worst, and the
    /// 30-second margin of the freshness writes must cover a compare-and-set abandoned at the timeout with room to spare.
    /// </value>
    [Range(typeof(TimeSpan), Zero, "00:00:10", MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(150);

    /// <summary>
    /// How long the background connect attempt may take before it is retried. Only requests arriving during the very
    /// first attempt wait for it, and at most <see cref="OperationTimeout"/> from its start.
    /// </summary>
    /// <value>The default is 5 seconds. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Consecutive failed or timed-out operations that open the circuit breaker.</summary>
    /// <value>The default is 3. It must be at least 1.</value>
    [Range(1, int.MaxValue)]
    public int BreakerFailureThreshold { get; set; } = 3;

    /// <summary>
    /// How long the breaker stays open before a background PING (never a request) tests Redis again; doubles on each
    /// failed probe up to <see cref="BreakerMaxOpenDuration"/>. A restored connection or a cluster topology change
    /// probes at once.
    /// </summary>
    /// <value>The default is 250 ms. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan BreakerOpenDuration { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest the breaker stays open between probes, so hits resume at most this long after Redis answers again.
    /// A probe is one background PING, no request waits for it.
    /// </summary>
    /// <value>The default is 1 second. It must be at least <see cref="BreakerOpenDuration"/>.</value>
    public TimeSpan BreakerMaxOpenDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the breaker may stay open while the client still claims to be connected (or stay disconnected)
    /// before the connection is replaced.
    /// </summary>
    /// <value>The default is 30 seconds. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan ReconnectAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the breaker must stay closed before a run of trouble counts as over for <see cref="ReconnectAfter"/>: a
    /// breaker that flaps (PINGs succeed while requests keep failing) keeps the trouble clock running.
    /// </summary>
    /// <value>The default is 10 seconds. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan BreakerStablePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the background loop reads <c>INFO stats</c> of each primary to detect evictions (off the request path).</summary>
    /// <value>The default is 5 seconds. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan EvictionCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the health check reports Degraded after the server last evicted keys.</summary>
    /// <value>The default is 10 minutes. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan EvictionRecentWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The shortest time between two connection replacements.</summary>
    /// <value>The default is 60 seconds. It must be positive.</value>
    [Range(typeof(TimeSpan), Zero, Forever, MinimumIsExclusive = true, ParseLimitsInInvariantCulture = true)]
    public TimeSpan MinReconnectInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How many invalidations and blacklistings issued while Redis is unreachable are remembered (per key, last one
    /// wins) for replay. Past it a new one is not remembered: it is reported as dropped (an Error log line and the
    /// <c>bendcare.cache.invalidations</c> counter's <c>dropped</c> outcome), and the remembered ones are kept.
    /// </summary>
    /// <value>The default is 100 000. It must be at least 1.</value>
    [Range(1, int.MaxValue)]
    public int MaxPendingInvalidations { get; set; } = 100_000;

    /// <summary>How many background write-backs may be outstanding at once; further ones are skipped (the next read loads again).</summary>
    /// <value>The default is 1024. It must be at least 1.</value>
    [Range(1, int.MaxValue)]
    public int MaxPendingWriteBacks { get; set; } = 1024;

    /// <summary>The opt-in in-process cache (L1) in front of Redis, with invalidation as strong as the Redis path's.</summary>
    /// <value>Off by default (<see cref="BendCareLocalCacheOptions.Types"/> is <see cref="LocalCacheTypes.None"/>).</value>
    [Microsoft.Extensions.Options.ValidateObjectMembers]
    public BendCareLocalCacheOptions LocalCache { get; set; } = new();

#pragma warning restore IL2026

    /// <summary>
    /// Whether the cache is enabled: <see langword="true"/> when <see cref="Host"/> is set or the application supplied
    /// its own connection (<see cref="UseConnection(IConnectionMultiplexer)"/>).
    /// </summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(Host) || ConnectionFactory is not null;
}
