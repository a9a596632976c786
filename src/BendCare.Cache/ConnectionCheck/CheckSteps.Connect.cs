using System.Globalization;
using System.Security.Authentication;
using BendCare.Cache.Connection;
using StackExchange.Redis;
using Messages = BendCare.Cache.ConnectionCheck.ConnectionCheckMessages;

namespace BendCare.Cache.ConnectionCheck;

internal sealed partial class CheckSteps
{
    /// <summary>Connects once with the cache's configuration; on failure, finds the reason and the sentence for it.</summary>
    public async Task<ConnectStep> ConnectAsync(CancellationToken cancellationToken)
    {
        var connectLog = new StringWriter(CultureInfo.InvariantCulture);
        try
        {
            var multiplexer = await ConnectOnceAsync(TextWriter.Synchronized(connectLog), cancellationToken).ConfigureAwait(false);
            return new ConnectStep(multiplexer, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = await ClassifyAsync(ex, connectLog.ToString(), cancellationToken).ConfigureAwait(false);
            return new ConnectStep(null, new CheckFailure(reason, ConnectFailureMessage(reason, ex)));
        }
    }

    private async Task<IConnectionMultiplexer> ConnectOnceAsync(TextWriter log, CancellationToken cancellationToken)
    {
        // Credentials from the options' provider when there is one, as the cache would connect.
        var config = _options.CredentialsProvider is { } provider
            ? RedisConfigurationFactory.Create(_options, await provider(cancellationToken).ConfigureAwait(false))
            : RedisConfigurationFactory.Create(_options);
        int milliseconds = (int)Math.Clamp(_timeout.TotalMilliseconds, 1, int.MaxValue);
        // The cache connects in the background and retries forever; a check connects once and wants the reason.
        config.AbortOnConnectFail = true;
        config.ConnectRetry = 1;
        config.ConnectTimeout = milliseconds;
        config.AsyncTimeout = milliseconds;
        config.SyncTimeout = milliseconds;
        // Only lets the client send INFO; the server's ACL still decides.
        config.AllowAdmin = true;

        var connect = ConnectionMultiplexer.ConnectAsync(config, log);
        try
        {
            // The client keeps to its ConnectTimeout; this only guards against a connect that never returns.
            return await connect.WaitAsync(_timeout + _timeout + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!connect.IsCompleted)
        {
            _ = connect.ContinueWith(
                static task =>
                {
                    if (task.IsCompletedSuccessfully)
                    {
                        task.Result.Dispose();
                    }
                    else
                    {
                        _ = task.Exception;
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>
    /// Why the first connect failed. The client's exception names auth and certificate failures, but says only
    /// "UnableToConnect" for a refused port, an unknown host, a silent server and a TLS mismatch alike; its connect
    /// log says more, but often only after the exception was thrown (the failure lines are written asynchronously),
    /// so when the log has nothing, <see cref="NetworkDiagnosis"/> looks for itself.
    /// </summary>
    private async Task<FailureReason> ClassifyAsync(Exception exception, string log, CancellationToken cancellationToken)
    {
        // A rejected certificate is Tls here (the classifier looks for the AuthenticationException the client wraps it in).
        var fromException = FailureClassifier.Classify(exception);
        if (fromException is FailureReason.Tls or FailureReason.Auth or FailureReason.Dns or FailureReason.Permission or FailureReason.Timeout
            || exception is not RedisConnectionException)
        {
            return fromException;
        }

        // tls: false, because this log is incomplete: a TLS connect whose log is silent is not thereby a TLS failure.
        var fromLog = FailureClassifier.ClassifyConnectLog(log, tls: false);
        if (fromLog is FailureReason.Auth or FailureReason.Dns or FailureReason.Tls
            || (fromLog == FailureReason.Refused && log.Contains("refused", StringComparison.OrdinalIgnoreCase)))
        {
            return fromLog;
        }

        return await new NetworkDiagnosis(_options.Host!, _options.Port, _options.UseTls, _timeout).DiagnoseAsync(cancellationToken).ConfigureAwait(false);
    }

    private string ConnectFailureMessage(FailureReason reason, Exception exception)
    {
        string at = $"{_options.Host}:{_options.Port}";
        return reason switch
        {
            FailureReason.Refused => Messages.Refused(at),
            FailureReason.Timeout => Messages.Timeout(at, _timeout),
            FailureReason.Auth => Messages.AuthRejected(
                at,
                ConfiguredUser,
                FailureClassifier.Find<RedisServerException>(exception) is { } reply ? Detail(reply) : Messages.AuthenticationFailed),
            FailureReason.Tls when !_options.UseTls => Messages.TlsRequired(at),
            FailureReason.Tls when FailureClassifier.Find<AuthenticationException>(exception) is { } tls => Messages.TlsHandshakeFailed(at, Detail(tls), _options.Host!),
            FailureReason.Tls => Messages.TlsNoAnswer(at),
            FailureReason.Dns => Messages.DnsUnresolved(_options.Host!),
            FailureReason.Permission => Messages.CommandDenied(at, Detail(exception)),
            _ => Messages.ConnectFailed(at, Detail(exception)),
        };
    }
}
