using System.Net.Sockets;
using System.Security.Authentication;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

internal static class FailureClassifier
{
    /// <summary>Auth, TLS, permission and credentials-provider failures are configuration mistakes: logged as errors, not warnings.</summary>
    public static bool IsConfigurationProblem(FailureReason reason) =>
        reason is FailureReason.Auth or FailureReason.Tls or FailureReason.Permission or FailureReason.Credentials;

    public static FailureReason Classify(Exception exception)
    {
        // The client wraps a rejected certificate in an authentication failure: TLS is the real cause.
        if (Find<AuthenticationException>(exception) is not null)
        {
            return FailureReason.Tls;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case TimeoutException:
                    return FailureReason.Timeout;
                case AuthenticationException:
                    return FailureReason.Tls;
                case RedisConnectionException rce when rce.FailureType == ConnectionFailureType.AuthenticationFailure:
                    return FailureReason.Auth;
                case RedisServerException rse when IsAuthMessage(rse.Message):
                    return FailureReason.Auth;
                case RedisServerException rse when rse.Message.StartsWith("NOPERM", StringComparison.Ordinal):
                    return FailureReason.Permission;
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return FailureReason.Refused;
                case SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData }:
                    return FailureReason.Dns;
                default:
                    break;
            }
        }

        return exception switch
        {
            RedisConnectionException { FailureType: ConnectionFailureType.UnableToConnect or ConnectionFailureType.UnableToResolvePhysicalConnection } => FailureReason.Refused,
            RedisConnectionException => FailureReason.Disconnected,
            RedisServerException => FailureReason.Server,
            _ => FailureReason.Unknown,
        };
    }

    /// <summary>The first exception of type <typeparamref name="T"/> in <paramref name="exception"/> or its inner exceptions.</summary>
    public static T? Find<T>(Exception exception)
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

    public static FailureReason Classify(ConnectionFailureType failureType, Exception? exception)
    {
        var fromException = exception is null ? FailureReason.Unknown : Classify(exception);
        if (fromException is not FailureReason.Unknown and not FailureReason.Disconnected)
        {
            return fromException;
        }

        return failureType switch
        {
            ConnectionFailureType.AuthenticationFailure => FailureReason.Auth,
            ConnectionFailureType.UnableToConnect or ConnectionFailureType.UnableToResolvePhysicalConnection => FailureReason.Refused,
            _ => FailureReason.Disconnected,
        };
    }

    /// <summary>Reads the reason of a failed first connect from StackExchange.Redis' connect log.</summary>
    /// <param name="log">The connect log.</param>
    /// <param name="tls">Whether TLS was configured: a handshake that neither failed nor was refused is then a TLS mismatch.</param>
    public static FailureReason ClassifyConnectLog(string log, bool tls)
    {
        if (Contains(log, "WRONGPASS") || Contains(log, "NOAUTH") || Contains(log, "invalid username-password"))
        {
            return FailureReason.Auth;
        }

        if (Contains(log, "NOPERM"))
        {
            return FailureReason.Permission;
        }

        // The client also labels a failed TLS handshake "AuthenticationFailure": with TLS on, that is the TLS failure.
        if (Contains(log, "AuthenticationFailure"))
        {
            return tls ? FailureReason.Tls : FailureReason.Auth;
        }

        if (Contains(log, "No such host") || Contains(log, "Name or service not known") || Contains(log, "nodename nor servname")
            || Contains(log, "Temporary failure in name resolution"))
        {
            return FailureReason.Dns;
        }

        if (Contains(log, "refused"))
        {
            return FailureReason.Refused;
        }

        if (Contains(log, "certificate") || Contains(log, "AuthenticationException"))
        {
            return FailureReason.Tls;
        }

        // With TLS on, no answer is most often a handshake the server never completes: a plain server on that port.
        // (A TLS endpoint behind a firewall that drops packets looks the same from here.)
        if (tls)
        {
            return FailureReason.Tls;
        }

        // Accepted but never answered (a blackhole, a security group dropping packets after the handshake).
        if (Contains(log, "Did not respond") || Contains(log, "timed out"))
        {
            return FailureReason.Timeout;
        }

        // With TLS on, a connect that was neither refused nor rejected at AUTH is almost always a handshake that failed
        // or never completed: a plain server, a wrong CA, a wrong host name.
        // The client writes its failure lines asynchronously, so the log may name no cause at all; then say so.
        return FailureReason.Unknown;
    }

    private static bool Contains(string text, string value) => text.Contains(value, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Replies that say our data (or the command built from it) was wrong: Redis answered, so they never count towards
    /// the breaker. Everything else a server replies (LOADING, BUSY, MASTERDOWN, CLUSTERDOWN, TRYAGAIN, READONLY, OOM,
    /// max clients, NOAUTH/WRONGPASS/NOPERM, and any reply not listed here) says the server is unwell or misconfigured.
    /// </summary>
    private static readonly string[] DataErrorReplies =
    [
        "WRONGTYPE",
        "ERR value is not an integer or out of range",
        "ERR value is not a valid float",
        "ERR invalid expire time",
        "ERR increment or decrement would overflow",
        "ERR increment would produce NaN or Infinity",
        "ERR hash value is not an integer",
        "ERR Error running script",
        "ERR Error compiling script",
        "ERR user_script:",
    ];

    /// <summary>Error codes that inside a script's error still say the server, not the data, is the problem.</summary>
    private static readonly string[] ServerTroubleInScripts = ["BUSY", "OOM", "NOPERM", "NOAUTH", "WRONGPASS", "LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "MISCONF", "NOREPLICAS"];

    /// <summary>A server reply that says the data (or our command) is wrong — a foreign value at our key — not that Redis is broken.</summary>
    public static bool IsDataError(Exception exception)
    {
        if (exception is not RedisServerException rse)
        {
            return false;
        }

        string message = rse.Message;
        foreach (string reply in DataErrorReplies)
        {
            if (message.StartsWith(reply, StringComparison.Ordinal))
            {
                return !reply.StartsWith("ERR ", StringComparison.Ordinal) || !IsServerTroubleInScript(message);
            }
        }

        return false;
    }

    /// <summary>A script error that wraps a reply such as BUSY or OOM raised by a command inside the script.</summary>
    private static bool IsServerTroubleInScript(string message)
    {
        foreach (string code in ServerTroubleInScripts)
        {
            int at = message.IndexOf(code, StringComparison.Ordinal);
            if (at > 0 && message[at - 1] == ' ' && (at + code.Length == message.Length || message[at + code.Length] == ' '))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsAuthMessage(string message) =>
        message.StartsWith("NOAUTH", StringComparison.Ordinal) || message.StartsWith("WRONGPASS", StringComparison.Ordinal);
}
