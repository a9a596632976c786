using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using StackExchange.Redis;
using Messages = BendCare.Cache.ConnectionCheck.ConnectionCheckMessages;

namespace BendCare.Cache.ConnectionCheck;

/// <summary>
/// The steps of <see cref="BendCareConnectionCheck"/>: connect (<c>CheckSteps.Connect.cs</c>), PING, who am I, what
/// server, probe key. Each returns what it found as a new record; nothing is kept between steps.
/// </summary>
internal sealed partial class CheckSteps(BendCareCacheOptions options, TimeSpan timeout)
{
    private const string ProbeSegment = "connection_check:";
    private const int MaxDetailLength = 200;
    private static readonly TimeSpan ProbeTtl = TimeSpan.FromSeconds(30);

    private readonly BendCareCacheOptions _options = options;
    private readonly TimeSpan _timeout = timeout;

    /// <summary>Without <c>ACL WHOAMI</c>, the configured user is the only one AUTH could have accepted.</summary>
    private string ConfiguredUser => string.IsNullOrEmpty(_options.Username) ? "default" : _options.Username;

    public async Task<PingStep> PingAsync(IServer server, CancellationToken cancellationToken)
    {
        try
        {
            return new PingStep(await server.PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false), null);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return new PingStep(null, new CheckFailure(FailureClassifier.Classify(ex), Messages.PingFailed(Detail(ex))));
        }
    }

    public async Task<UserStep> ReadUserAsync(IServer server, CancellationToken cancellationToken)
    {
        try
        {
            var whoami = await server.ExecuteAsync("ACL", "WHOAMI").WaitAsync(cancellationToken).ConfigureAwait(false);
            return new UserStep((string?)whoami ?? ConfiguredUser, null);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return new UserStep(ConfiguredUser, Messages.WhoAmIUnavailable(Detail(ex)));
        }
    }

    /// <summary>INFO names the product and version; a server that refuses it leaves them unknown, not the check failed.</summary>
    public async Task<ServerStep> ReadServerAsync(IServer server, CancellationToken cancellationToken)
    {
        bool clientSeesCluster = server.ServerType == ServerType.Cluster;
        try
        {
            var info = ServerInfo.Parse((string?)await server.ExecuteAsync("INFO").WaitAsync(cancellationToken).ConfigureAwait(false));
            return new ServerStep(info.Product.ToString(), info.Version ?? "unknown", clientSeesCluster || info.IsClusterEnabled, null);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return new ServerStep("unknown", null, clientSeesCluster, Messages.InfoUnavailable(Detail(ex)));
        }
    }

    /// <summary>Writes <c>{KeyPrefix}connection_check:{guid}</c> with a short TTL, reads it back and deletes it.</summary>
    public async Task<ProbeStep> ProbeAsync(IDatabase database, CancellationToken cancellationToken)
    {
        string key = $"{_options.KeyPrefix}{ProbeSegment}{Guid.NewGuid():N}";
        string value = Guid.NewGuid().ToString("N");
        string step = "SET";
        try
        {
            await database.StringSetAsync(key, value, ProbeTtl).WaitAsync(cancellationToken).ConfigureAwait(false);
            step = "GET";
            var read = await database.StringGetAsync(key).WaitAsync(cancellationToken).ConfigureAwait(false);
            step = "DEL";
            bool deleted = await database.KeyDeleteAsync(key).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (read != value)
            {
                return new ProbeStep(new CheckFailure(FailureReason.Unknown, Messages.ProbeReadBackWrong(key, read.IsNull)));
            }

            return new ProbeStep(deleted ? null : new CheckFailure(FailureReason.Unknown, Messages.ProbeAlreadyGone(key)));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            var reason = FailureClassifier.Classify(ex);
            string? deniedUnder = reason == FailureReason.Permission ? _options.KeyPrefix : null;
            return new ProbeStep(new CheckFailure(reason, Messages.ProbeFailed(step, key, Detail(ex), deniedUnder)));
        }
    }

    /// <summary>A client's error text as the report shows it: its first line, shortened, ids and the password masked.</summary>
    private string Detail(Exception exception) => Redact.FirstLine(exception.Message, _options.Password, MaxDetailLength);
}
