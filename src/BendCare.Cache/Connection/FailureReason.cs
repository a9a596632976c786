using System.Net.Sockets;
using System.Security.Authentication;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>Why Redis could not be used, in the words an operator searches logs for.</summary>
internal enum FailureReason
{
    Unknown,
    Refused,
    Timeout,
    Auth,
    Tls,
    Dns,
    Disconnected,
    Permission,
    Server,
}

internal static class FailureClassifier
{
    /// <summary>Auth and TLS failures are configuration mistakes: logged as errors, not warnings.</summary>
    public static bool IsConfigurationProblem(FailureReason reason) => reason is FailureReason.Auth or FailureReason.Tls or FailureReason.Permission;

    public static FailureReason Classify(Exception exception)
    {
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

    /// <summary>A server reply that says the cached data is wrong (a foreign value at our key), not that Redis is broken.</summary>
    public static bool IsDataError(Exception exception) =>
        exception is RedisServerException rse && rse.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal);

    private static bool IsAuthMessage(string message) =>
        message.StartsWith("NOAUTH", StringComparison.Ordinal) || message.StartsWith("WRONGPASS", StringComparison.Ordinal);
}
