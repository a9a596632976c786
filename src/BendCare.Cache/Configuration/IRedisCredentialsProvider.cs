namespace BendCare.Cache;

/// <summary>
/// Supplies the credentials the library authenticates with, each time it builds a connection: register one in the
/// container (<c>services.AddSingleton&lt;IRedisCredentialsProvider, MyProvider&gt;()</c>) when the credentials rotate
/// (AWS Secrets Manager rotation) or expire (ElastiCache IAM authentication tokens, valid 15 minutes), so they change
/// without a restart. Used only when <see cref="BendCareCacheOptions.CredentialsProvider"/> is not set, and never with
/// <see cref="BendCareCacheOptions.UseConnection(StackExchange.Redis.IConnectionMultiplexer)"/>.
/// </summary>
/// <remarks>
/// <para>
/// When it is called: before the first connection, before each replacement of the connection (after the server
/// rejected the credentials, when <see cref="BendCareCacheOptions.MaxConnectionAge"/> is reached, or when the connection
/// stayed broken), and every <see cref="BendCareCacheOptions.CredentialsRefreshInterval"/> when that is set. Never on a
/// request: requests keep being answered (from Redis while the current connection works, else from their loaders)
/// while it runs.
/// </para>
/// <para>
/// Each call is bounded by <see cref="BendCareCacheOptions.CredentialsTimeout"/>: past it, the token is cancelled and the
/// call is abandoned. A provider that throws, returns <see langword="null"/> or times out is logged as one Error
/// (event 2011, at most every 5 minutes) and asked again later; no exception reaches a caller of the cache.
/// Calls never overlap for one connection attempt, but a refresh and a reconnect may run at once: make it thread-safe.
/// </para>
/// </remarks>
public interface IRedisCredentialsProvider
{
    /// <summary>Returns the credentials to authenticate with now.</summary>
    /// <param name="cancellationToken">Cancelled when <see cref="BendCareCacheOptions.CredentialsTimeout"/> passes or the cache is disposed.</param>
    /// <returns>The user name and password (or token) to use for the next connection.</returns>
    ValueTask<RedisCredentials> GetCredentialsAsync(CancellationToken cancellationToken);
}
