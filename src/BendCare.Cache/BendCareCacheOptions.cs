using StackExchange.Redis;

namespace BendCare.Cache;

/// <summary>
/// Options of the BendCare cache. <c>AddBendCareRedisCache()</c> fills the connection settings from
/// <c>REDIS_HOST</c>, <c>REDIS_PORT</c>, <c>REDIS_USERNAME</c>, <c>REDIS_PASSWORD</c> and <c>REDIS_TLS</c>, and
/// everything else from the <c>BendCareCache</c> configuration section. Invalid values fail at startup with a
/// message naming the option.
/// </summary>
public sealed class BendCareCacheOptions
{
    /// <summary>The configuration section read by <c>AddBendCareRedisCache()</c> for the options other than the <c>REDIS_*</c> variables.</summary>
    public const string SectionName = "BendCareCache";

    /// <summary>Redis/Valkey host name or address (<c>REDIS_HOST</c>). Empty or <see langword="null"/> (the default) disables the cache: every getter calls its loader.</summary>
    public string? Host { get; set; }

    /// <summary>Port (<c>REDIS_PORT</c>). Default 6379, also with TLS (ElastiCache Serverless listens on 6379 with TLS).</summary>
    public int Port { get; set; } = 6379;

    /// <summary>ACL user name (<c>REDIS_USERNAME</c>). Default none (the <c>default</c> user).</summary>
    public string? Username { get; set; }

    /// <summary>Password (<c>REDIS_PASSWORD</c>). Default none. Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>Whether to connect with TLS (<c>REDIS_TLS</c>). Default <see langword="false"/>; production (ElastiCache) needs <see langword="true"/>.</summary>
    public bool UseTls { get; set; }

    /// <summary>Prefix of every key, e.g. <c>bcos:staging:</c>. Default empty.</summary>
    public string KeyPrefix { get; set; } = "";

    /// <summary>Lifetime of a cached user context. Default 5 minutes.</summary>
    public TimeSpan UserContextTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Lifetime of cached role permissions. Default 24 hours.</summary>
    public TimeSpan RolePermissionsTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Lifetime of cached user basic info. Default 5 minutes.</summary>
    public TimeSpan UserBasicTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The longest a blacklisting lives in the cache. Default 1 hour. A blacklisting lives until the token's expiry
    /// plus <see cref="TokenClockSkew"/> when that is sooner, but never shorter than <see cref="TokenNotBlacklistedTtl"/>
    /// plus 30 seconds, so that no "not blacklisted" answer loaded before it can be written back after it expired.
    /// </summary>
    public TimeSpan TokenBlacklistedTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long past its expiry token validation still accepts a token: JwtBearer's <c>ClockSkew</c>, 5 minutes by
    /// default. A blacklisting covers the token at least until its expiry plus this. Default 5 minutes.
    /// </summary>
    public TimeSpan TokenClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Lifetime of a cached "not blacklisted" answer. Default 1 minute.</summary>
    public TimeSpan TokenNotBlacklistedTtl { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Lifetime of a cached JWT payload; never past the token's expiry. Default 5 minutes.</summary>
    public TimeSpan JwtPayloadTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Applied last to the StackExchange.Redis configuration built from these options: extra TLS trust (a private CA),
    /// client name, timeouts. Default none.
    /// </summary>
    public Action<ConfigurationOptions>? ConfigureConnection { get; set; }

    /// <summary>
    /// The longest a request waits for one Redis operation before it treats the cache as a miss and calls the loader.
    /// Default 150 ms. StackExchange.Redis' own timeouts (5 s) are never what a request waits on.
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(150);

    /// <summary>How long the background connect attempt may take before it is retried. Default 5 seconds. Requests never wait on it.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Consecutive failed or timed-out operations that open the circuit breaker. Default 3.</summary>
    public int BreakerFailureThreshold { get; set; } = 3;

    /// <summary>
    /// How long the breaker stays open before a background PING (never a request) tests Redis again; doubles on each
    /// failed probe up to <see cref="BreakerMaxOpenDuration"/>. A restored connection or a cluster topology change
    /// probes at once. Default 250 ms.
    /// </summary>
    public TimeSpan BreakerOpenDuration { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest the breaker stays open between probes, so hits resume at most this long after Redis answers again.
    /// Default 1 second: a probe is one background PING, no request waits for it.
    /// </summary>
    public TimeSpan BreakerMaxOpenDuration { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the breaker may stay open while the client still claims to be connected (or stay disconnected)
    /// before the connection is replaced. Default 30 seconds.
    /// </summary>
    public TimeSpan ReconnectAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the breaker must stay closed before a run of trouble counts as over for <see cref="ReconnectAfter"/>: a
    /// breaker that flaps (PINGs succeed while requests keep failing) keeps the trouble clock running. Default 10 seconds.
    /// </summary>
    public TimeSpan BreakerStablePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often the background loop reads <c>INFO stats</c> of each primary to detect evictions (off the request path).
    /// Default 5 seconds.
    /// </summary>
    public TimeSpan EvictionCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the health check reports Degraded after the server last evicted keys. Default 10 minutes.</summary>
    public TimeSpan EvictionRecentWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The shortest time between two connection replacements. Default 60 seconds.</summary>
    public TimeSpan MinReconnectInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How many invalidations and blacklistings issued while Redis is unreachable are remembered (per key, last one
    /// wins) for replay. Default 100 000. Past it a new one is not remembered: it is reported as dropped (an Error log
    /// line and the <c>bendcare.cache.invalidations</c> counter's <c>dropped</c> outcome), and the remembered ones are kept.
    /// </summary>
    public int MaxPendingInvalidations { get; set; } = 100_000;

    /// <summary>How many background write-backs may be outstanding at once; further ones are skipped (the next read loads again). Default 1024.</summary>
    public int MaxPendingWriteBacks { get; set; } = 1024;

    /// <summary>Whether the cache is enabled: <see langword="true"/> when <see cref="Host"/> is set.</summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(Host);
}
