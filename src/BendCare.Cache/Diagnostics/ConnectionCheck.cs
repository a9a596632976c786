using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using StackExchange.Redis;

namespace BendCare.Cache;

/// <summary>
/// A connection check a person can run (the seed's <c>test-redis-connection</c>): connects once with the
/// configured settings, authenticates, measures a PING, reads what the server is (Redis or Valkey, version,
/// standalone or cluster) and writes, reads back and deletes a probe key. The quick-start sample runs it as
/// <c>dotnet run --project samples/BendCare.Cache.QuickStart -- check</c>.
/// </summary>
public sealed class BendCareConnectionCheck
{
    private const string ProbeSegment = "connection_check:";
    private const int MaxDetailLength = 200;
    private static readonly TimeSpan ProbeTtl = TimeSpan.FromSeconds(30);

    private readonly BendCareCacheOptions _options;
    private readonly TimeSpan _timeout;
    private readonly List<string> _notes = [];
    private string? _user;
    private string? _product;
    private string? _version;
    private bool? _cluster;
    private TimeSpan? _ping;
    private bool _probe;

    private BendCareConnectionCheck(BendCareCacheOptions options, TimeSpan timeout)
    {
        _options = options;
        _timeout = timeout;
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
        if (!options.IsEnabled)
        {
            return new ConnectionCheckResult
            {
                Success = false,
                Endpoint = "disabled",
                Tls = options.UseTls,
                FailureReason = ConnectionCheckResult.DisabledReason,
                Message = "REDIS_HOST is not set: the cache is disabled and every read goes to the database",
            };
        }

        return await new BendCareConnectionCheck(options, limit).ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<ConnectionCheckResult> ExecuteAsync(CancellationToken cancellationToken)
    {
        var connectLog = new StringWriter(CultureInfo.InvariantCulture);
        IConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await ConnectAsync(TextWriter.Synchronized(connectLog), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = await ClassifyConnectFailureAsync(ex, connectLog.ToString(), cancellationToken).ConfigureAwait(false);
            return Failed(reason, ConnectFailureMessage(reason, ex));
        }

        await using (multiplexer.ConfigureAwait(false))
        {
            return await CheckAsync(multiplexer, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IConnectionMultiplexer> ConnectAsync(TextWriter log, CancellationToken cancellationToken)
    {
        var config = RedisConfigurationFactory.Create(_options);
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

    private async Task<ConnectionCheckResult> CheckAsync(IConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        var server = multiplexer.GetServer(multiplexer.GetEndPoints(configuredOnly: true)[0]);
        try
        {
            _ping = await server.PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return Failed(FailureClassifier.Classify(ex), $"connected, but PING failed: {Detail(ex)}");
        }

        await ReadUserAsync(server, cancellationToken).ConfigureAwait(false);
        await ReadServerInfoAsync(server, cancellationToken).ConfigureAwait(false);

        var database = multiplexer.GetDatabase();
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
                return Failed(FailureReason.Unknown, $"the probe key {key} read back {(read.IsNull ? "nothing" : "a different value")} right after SET");
            }

            if (!deleted)
            {
                return Failed(FailureReason.Unknown, $"the probe key {key} was already gone at DEL");
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            var reason = FailureClassifier.Classify(ex);
            string hint = reason == FailureReason.Permission ? $" (the user needs read/write access to keys under '{_options.KeyPrefix}')" : "";
            return Failed(reason, $"probe {step} of {key} failed: {Detail(ex)}{hint}");
        }

        _probe = true;
        string product = _version is null ? $"{_product} server" : $"{_product} {_version}";
        return Result(
            success: true,
            failureReason: null,
            string.Create(
                CultureInfo.InvariantCulture,
                $"{product} ({(_cluster == true ? "cluster" : "standalone")}) answered PING in {_ping.Value.TotalMilliseconds:0.###} ms and a probe SET/GET/DEL"));
    }

    /// <summary>ACL WHOAMI confirms the user; without it, the configured one is the only user AUTH could have accepted.</summary>
    private async Task ReadUserAsync(IServer server, CancellationToken cancellationToken)
    {
        string configured = string.IsNullOrEmpty(_options.Username) ? "default" : _options.Username;
        try
        {
            var whoami = await server.ExecuteAsync("ACL", "WHOAMI").WaitAsync(cancellationToken).ConfigureAwait(false);
            _user = (string?)whoami ?? configured;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _user = configured;
            _notes.Add($"ACL WHOAMI not available ({Detail(ex)}): user shown is the configured one");
        }
    }

    private async Task ReadServerInfoAsync(IServer server, CancellationToken cancellationToken)
    {
        bool clientSeesCluster = server.ServerType == ServerType.Cluster;
        try
        {
            var info = await server.ExecuteAsync("INFO").WaitAsync(cancellationToken).ConfigureAwait(false);
            var fields = ParseInfo((string?)info);
            (_product, _version) = Product(fields);
            _cluster = clientSeesCluster || (fields.TryGetValue("cluster_enabled", out var enabled) && enabled == "1");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _product = "unknown";
            _cluster = clientSeesCluster;
            _notes.Add($"INFO not available ({Detail(ex)}): server product and version unknown");
        }
    }

    private static Dictionary<string, string> ParseInfo(string? info)
    {
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in (info ?? "").Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[0] != '#')
            {
                fields[line[..colon]] = line[(colon + 1)..].TrimEnd('\r');
            }
        }

        return fields;
    }

    /// <summary>Valkey also reports <c>redis_version</c> (the API level it is compatible with); its own version is <c>valkey_version</c>.</summary>
    private static (string Product, string Version) Product(Dictionary<string, string> fields)
    {
        if (fields.TryGetValue("valkey_version", out var valkey)
            || (fields.TryGetValue("server_name", out var name) && name.Equals("valkey", StringComparison.OrdinalIgnoreCase)))
        {
            return ("Valkey", valkey ?? fields.GetValueOrDefault("redis_version") ?? "unknown");
        }

        if (fields.TryGetValue("garnet_version", out var garnet))
        {
            return ("Garnet", garnet);
        }

        return ("Redis", fields.GetValueOrDefault("redis_version") ?? "unknown");
    }

    /// <summary>
    /// Why the first connect failed. The client's exception names auth and certificate failures, but says only
    /// "UnableToConnect" for a refused port, an unknown host, a silent server and a TLS mismatch alike; its connect
    /// log says more, but often only after the exception was thrown (the failure lines are written asynchronously),
    /// so when the log has nothing, the check looks for itself: DNS lookup, then a plain TCP connect.
    /// </summary>
    private async Task<FailureReason> ClassifyConnectFailureAsync(Exception exception, string log, CancellationToken cancellationToken)
    {
        // The client reports a rejected certificate as an AuthenticationFailure, which Classify would call auth.
        if (Inner<AuthenticationException>(exception) is not null)
        {
            return FailureReason.Tls;
        }

        var fromException = FailureClassifier.Classify(exception);
        if (fromException is FailureReason.Auth or FailureReason.Dns or FailureReason.Permission or FailureReason.Timeout
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

        return await DiagnoseAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<FailureReason> DiagnoseAsync(CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(_options.Host, out var address))
        {
            addresses = [address];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(_options.Host!, cancellationToken).WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                return FailureReason.Dns;
            }
        }

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connectTimeout.CancelAfter(_timeout);
        try
        {
            await socket.ConnectAsync(addresses, _options.Port, connectTimeout.Token).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => FailureReason.Refused,
                SocketError.TimedOut or SocketError.HostUnreachable or SocketError.NetworkUnreachable => FailureReason.Timeout,
                _ => FailureReason.Unknown,
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Nothing accepted the connection: a firewall or security group dropping packets, or a host that is down.
            return FailureReason.Timeout;
        }

        // The port accepts connections but the client got no usable answer. With TLS on, that is a handshake that never
        // completed (most often a plain server). With TLS off, it is most often a TLS-only server (ElastiCache
        // Serverless) that gives up on our plain bytes: find out by offering it a handshake.
        if (_options.UseTls)
        {
            return FailureReason.Tls;
        }

        return await SpeaksTlsAsync(socket, cancellationToken).ConfigureAwait(false) ? FailureReason.Tls : FailureReason.Timeout;
    }

    /// <summary>Whether the server answers a TLS ClientHello with a certificate. The certificate is rejected either way: nothing is sent over it.</summary>
    private async Task<bool> SpeaksTlsAsync(Socket socket, CancellationToken cancellationToken)
    {
        bool sawCertificate = false;
        using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        handshakeTimeout.CancelAfter(_timeout);
        var stream = new NetworkStream(socket, ownsSocket: false);
        await using (stream.ConfigureAwait(false))
        {
            var tls = new SslStream(stream, leaveInnerStreamOpen: true);
            await using (tls.ConfigureAwait(false))
            {
                try
                {
                    await tls.AuthenticateAsClientAsync(
                        new SslClientAuthenticationOptions
                        {
                            TargetHost = _options.Host,
                            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                            {
                                sawCertificate = certificate is not null;
                                return false;
                            },
                        },
                        handshakeTimeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    // Expected: the certificate is always rejected, and a plain server fails or ignores the handshake.
                }
            }
        }

        return sawCertificate;
    }

    private string ConnectFailureMessage(FailureReason reason, Exception exception)
    {
        string at = $"{_options.Host}:{_options.Port}";
        string seconds = _timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        string user = string.IsNullOrEmpty(_options.Username) ? "default" : _options.Username;
        string serverSaid = Inner<RedisServerException>(exception) is { } reply ? Detail(reply) : "authentication failed";
        return reason switch
        {
            FailureReason.Refused => $"connection refused by {at}: is the server running, and are REDIS_HOST/REDIS_PORT right?",
            FailureReason.Timeout => $"no answer from {at} within {seconds} s: a firewall or security group dropping packets, the wrong port, or a server too busy to answer",
            FailureReason.Auth => $"{at} rejected the credentials of user '{user}' ({serverSaid}): check REDIS_USERNAME/REDIS_PASSWORD",
            FailureReason.Tls when !_options.UseTls => $"{at} only accepts TLS connections: set REDIS_TLS=true",
            FailureReason.Tls when Inner<AuthenticationException>(exception) is { } tls =>
                $"TLS handshake with {at} failed ({Detail(tls)}): the server certificate must be valid for '{_options.Host}' and issued by a trusted CA (a private CA: trust it in ConfigureConnection)",
            FailureReason.Tls => $"TLS handshake with {at} got no answer: does the server serve TLS on this port (or should REDIS_TLS be false)?",
            FailureReason.Dns => $"the host name '{_options.Host}' does not resolve (DNS): check REDIS_HOST",
            FailureReason.Permission => $"{at} accepted the connection but denied a command the client needs: {Detail(exception)}",
            _ => $"could not connect to {at}: {Detail(exception)}",
        };
    }

    private static T? Inner<T>(Exception exception)
        where T : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The first line of an exception message, shortened, with the password masked should a server ever echo it.</summary>
    private string Detail(Exception exception)
    {
        return ErrorText.FirstLine(Redact.ErrorText(exception.Message, _options.Password), MaxDetailLength);
    }

    private ConnectionCheckResult Failed(FailureReason reason, string message) => Result(success: false, ReasonText(reason), message);

    private ConnectionCheckResult Result(bool success, string? failureReason, string message) => new()
    {
        Success = success,
        Endpoint = RedisConfigurationFactory.Describe(_options),
        Tls = _options.UseTls,
        User = _user,
        ServerProduct = _product,
        ServerVersion = _version,
        IsCluster = _cluster,
        PingRoundTrip = _ping,
        ProbeRoundTrip = _probe,
        FailureReason = failureReason,
        Message = message,
        Notes = [.. _notes],
    };

    private static string ReasonText(FailureReason reason) => reason switch
    {
        FailureReason.Refused => "refused",
        FailureReason.Timeout => "timeout",
        FailureReason.Auth => "auth",
        FailureReason.Tls => "tls",
        FailureReason.Dns => "dns",
        FailureReason.Permission => "permission",
        _ => "other",
    };
}
