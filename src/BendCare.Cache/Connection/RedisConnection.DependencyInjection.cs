using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

internal sealed partial class RedisConnection
{
    /// <summary>
    /// The constructor the container calls; logging is optional (no factory ⇒ no log lines), and so is a credentials
    /// provider registered as a service (the options' own <see cref="BendCareCacheOptions.CredentialsProvider"/> wins).
    /// </summary>
    [ActivatorUtilitiesConstructor]
    public RedisConnection(
        IOptions<BendCareCacheOptions> options,
        CacheMetrics metrics,
        TimeProvider time,
        IServiceProvider services,
        ILoggerFactory? loggerFactory = null,
        IRedisCredentialsProvider? credentialsProvider = null)
        : this(
            options.Value,
            metrics,
            CacheLogger.Create(loggerFactory),
            time,
            factory: null,
            credentialsProvider: ProviderOf(options.Value, credentialsProvider),
            applicationMultiplexer: ApplicationMultiplexer(options.Value, services, credentialsProvider))
    {
    }

    private static Func<CancellationToken, ValueTask<RedisCredentials>>? ProviderOf(BendCareCacheOptions options, IRedisCredentialsProvider? registered) =>
        options.CredentialsProvider ?? (registered is null ? null : registered.GetCredentialsAsync);

    /// <summary>The application's multiplexer, taken once; a factory that returns none fails start-up, naming the option.</summary>
    private static IConnectionMultiplexer? ApplicationMultiplexer(BendCareCacheOptions options, IServiceProvider services, IRedisCredentialsProvider? registered)
    {
        if (options.ConnectionFactory is not { } factory)
        {
            return null;
        }

        if (registered is not null)
        {
            throw new InvalidOperationException(
                $"An {nameof(IRedisCredentialsProvider)} is registered, but {nameof(BendCareCacheOptions)}.{nameof(BendCareCacheOptions.UseConnection)} supplies the connection: the library does not build that connection, so it cannot apply credentials to it. Remove one of them.");
        }

        return factory(services) ?? throw new InvalidOperationException(
            $"The factory given to {nameof(BendCareCacheOptions)}.{nameof(BendCareCacheOptions.UseConnection)} returned null; it must return the application's IConnectionMultiplexer.");
    }
}
