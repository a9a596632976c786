using BendCare.Cache.Connection;
using BendCare.Cache.ConnectionCheck;
using Messages = BendCare.Cache.ConnectionCheck.ConnectionCheckMessages;

namespace BendCare.Cache;

/// <summary>
/// A connection check a person can run (the seed's <c>test-redis-connection</c>): connects once with the
/// configured settings, authenticates, measures a PING, reads what the server is (Redis or Valkey, version,
/// standalone or cluster) and writes, reads back and deletes a probe key. The quick-start sample runs it as
/// <c>dotnet run --project samples/BendCare.Cache.QuickStart -- check</c>.
/// </summary>
public sealed class BendCareConnectionCheck
{
    private BendCareConnectionCheck()
    {
    }

    /// <summary>
    /// Runs the check. Unlike the cache, which connects in the background and never fails a request, the check
    /// connects once and reports the first thing that goes wrong. Only connecting, authenticating, PING and the
    /// probe key's SET/GET/DEL decide <see cref="ConnectionCheckResult.Success"/>; a server that refuses
    /// <c>INFO</c> or <c>ACL WHOAMI</c> (ElastiCache restricts some commands) is reported with those details
    /// unknown. The probe key is <c>{KeyPrefix}connection_check:{guid}</c>, lives at most 30 seconds and is deleted
    /// again. Never throws for a server problem and never returns the password.
    /// </summary>
    /// <param name="options">The cache options, e.g. from <c>IOptions&lt;BendCareCacheOptions&gt;</c> after
    /// <c>AddBendCareRedisCache()</c>, so the check sees exactly what the cache would use. No host ⇒ the result
    /// fails with the reason <c>disabled</c>.</param>
    /// <param name="timeout">How long connecting, and then each command, may take. Default
    /// <see cref="BendCareCacheOptions.ConnectTimeout"/> (5 seconds).</param>
    /// <param name="cancellationToken">Cancels the check (<see cref="OperationCanceledException"/>).</param>
    /// <returns>What was found; <see cref="ConnectionCheckResult.ToText"/> renders it for a person.</returns>
    public static async Task<ConnectionCheckResult> RunAsync(BendCareCacheOptions options, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var limit = timeout ?? options.ConnectTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limit, TimeSpan.Zero, nameof(timeout));
        // The check builds its own connection from Host: an application's connection (UseConnection) is not checked.
        if (string.IsNullOrWhiteSpace(options.Host))
        {
            return new ConnectionCheckResult
            {
                Success = false,
                Endpoint = "disabled",
                Tls = options.UseTls,
                FailureReason = ConnectionCheckResult.DisabledReason,
                Message = Messages.Disabled,
            };
        }

        var steps = new CheckSteps(options, limit);
        var connect = await steps.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (connect.Multiplexer is not { } multiplexer)
        {
            return Failed(options, connect.Failure!);
        }

        await using (multiplexer.ConfigureAwait(false))
        {
            var server = multiplexer.GetServer(multiplexer.GetEndPoints(configuredOnly: true)[0]);
            var ping = await steps.PingAsync(server, cancellationToken).ConfigureAwait(false);
            if (ping.RoundTrip is not { } roundTrip)
            {
                return Failed(options, ping.Failure!);
            }

            // WHOAMI and INFO never fail the check: what they could not tell becomes a note.
            var user = await steps.ReadUserAsync(server, cancellationToken).ConfigureAwait(false);
            var found = await steps.ReadServerAsync(server, cancellationToken).ConfigureAwait(false);
            var probe = await steps.ProbeAsync(multiplexer.GetDatabase(), cancellationToken).ConfigureAwait(false);
            return Report(options, roundTrip, user, found, probe);
        }
    }

    /// <summary>The check failed before PING was answered: nothing about the server is known.</summary>
    private static ConnectionCheckResult Failed(BendCareCacheOptions options, CheckFailure failure) => new()
    {
        Success = false,
        Endpoint = RedisConfigurationFactory.Describe(options),
        Tls = options.UseTls,
        FailureReason = failure.Code,
        Message = failure.Message,
    };

    private static ConnectionCheckResult Report(BendCareCacheOptions options, TimeSpan ping, UserStep user, ServerStep server, ProbeStep probe) => new()
    {
        Success = probe.Failure is null,
        Endpoint = RedisConfigurationFactory.Describe(options),
        Tls = options.UseTls,
        User = user.User,
        ServerProduct = server.Product,
        ServerVersion = server.Version,
        IsCluster = server.IsCluster,
        PingRoundTrip = ping,
        ProbeRoundTrip = probe.Failure is null,
        FailureReason = probe.Failure?.Code,
        Message = probe.Failure?.Message ?? Messages.Succeeded(server.Product, server.Version, server.IsCluster, ping),
        Notes = [.. new[] { user.Note, server.Note }.OfType<string>()],
    };
}
