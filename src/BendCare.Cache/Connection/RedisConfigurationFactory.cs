using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>Builds the StackExchange.Redis configuration from the options, and a printable, password-free description.</summary>
internal static class RedisConfigurationFactory
{
    public static ConfigurationOptions Create(BendCareCacheOptions options) => Create(options, new RedisCredentials(options.Username, options.Password));

    /// <summary>The configuration for one multiplexer, authenticating with <paramref name="credentials"/>.</summary>
    public static ConfigurationOptions Create(BendCareCacheOptions options, RedisCredentials credentials)
    {
        var config = new ConfigurationOptions
        {
            // The port is always explicit: with TLS on and no port, the client would pick 6380, ElastiCache listens on 6379.
            EndPoints = { { options.Host!, options.Port } },
            User = credentials.Username,
            Password = credentials.Password,
            Ssl = options.UseTls,
            SslHost = options.UseTls ? options.Host : null,
            AbortOnConnectFail = false,
            BacklogPolicy = BacklogPolicy.FailFast,
            ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds,
            ConnectRetry = 1,
            // Requests never wait this long (they use OperationTimeout); this bounds background work left behind.
            AsyncTimeout = 2000,
            SyncTimeout = 2000,
            // Reconnect quickly: recovery after an outage should take well under a second. The client reconnects on its
            // heartbeat, so the heartbeat sets the pace (default 1 s).
            ReconnectRetryPolicy = new ExponentialRetry(100, 500),
            HeartbeatInterval = TimeSpan.FromMilliseconds(250),
            KeepAlive = 10,
            ClientName = "BendCare.Cache",

            // Exception messages name the command but not its key (keys hold user and token ids). Whatever a message
            // still holds goes through Redact.ErrorText before it is kept or logged.
            IncludeDetailInExceptions = false,

            // The client refuses INFO without this flag (it is a client-side guard only: the server's ACL decides, and
            // +info is all the user needs). The eviction watch reads INFO stats; nothing else sends an admin command.
            AllowAdmin = true,

            // No tie-breaker key outside our prefix, no configuration pub/sub channel, no CONFIG GET in the handshake:
            // none helps a cache, CONFIG is restricted on ElastiCache, and without them the ACL user needs no channel,
            // no key beyond the prefix and no CONFIG permission (see docs/configuration.md).
            TieBreaker = "",
            ConfigurationChannel = "",
            CommandMap = CommandMap.Create(new HashSet<string> { "CONFIG" }, available: false),
        };
        options.ConfigureConnection?.Invoke(config);
        return config;
    }

    /// <summary>host:port, TLS and user, never the password.</summary>
    public static string Describe(BendCareCacheOptions options) => Describe(options, rotatingCredentials: false);

    /// <summary>host:port, TLS and user (or that a provider supplies the credentials), never the password.</summary>
    public static string Describe(BendCareCacheOptions options, bool rotatingCredentials) =>
        $"{options.Host}:{options.Port} (tls={(options.UseTls ? "on" : "off")}, " + (rotatingCredentials
            ? "credentials from the credentials provider)"
            : $"user={(string.IsNullOrEmpty(options.Username) ? "default" : options.Username)}, password={(string.IsNullOrEmpty(options.Password) ? "none" : "****")})");

    /// <summary>The endpoints of a multiplexer the application supplied (its configuration string could hold a password).</summary>
    public static string Describe(IConnectionMultiplexer multiplexer)
    {
        string endpoints;
        try
        {
            endpoints = string.Join(",", multiplexer.GetEndPoints(configuredOnly: true).Select(static e => EndPointCollection.ToString(e)));
        }
        catch (Exception ex) when (ex is RedisException or InvalidOperationException or NotSupportedException or ObjectDisposedException)
        {
            endpoints = "unknown endpoint";
        }

        return $"{endpoints} (connection supplied by the application)";
    }
}
