using System.Net.Sockets;
using System.Security.Authentication;
using BendCare.Cache.Connection;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

public class FailureClassifierTests
{
    [Fact]
    public void Connection_refused_socket_error_is_Refused() =>
        Assert.Equal(FailureReason.Refused, FailureClassifier.Classify(new SocketException((int)SocketError.ConnectionRefused)));

    [Theory]
    [InlineData(SocketError.HostNotFound)]
    [InlineData(SocketError.TryAgain)]
    [InlineData(SocketError.NoData)]
    public void Name_resolution_socket_errors_are_Dns(SocketError error) =>
        Assert.Equal(FailureReason.Dns, FailureClassifier.Classify(new SocketException((int)error)));

    [Fact]
    public void Find_returns_the_exception_of_that_type_in_the_chain_or_null()
    {
        var certificate = new AuthenticationException("untrusted root");
        var wrapped = ConnectionError(ConnectionFailureType.AuthenticationFailure, "connect failed", new IOException("handshake", certificate));

        Assert.Same(certificate, FailureClassifier.Find<AuthenticationException>(wrapped));
        Assert.Same(wrapped, FailureClassifier.Find<RedisException>(wrapped));
        Assert.Null(FailureClassifier.Find<RedisServerException>(wrapped));
    }

    [Fact]
    public void AuthenticationException_is_Tls() =>
        Assert.Equal(FailureReason.Tls, FailureClassifier.Classify(new AuthenticationException("The remote certificate is invalid")));

    [Theory]
    [InlineData("NOAUTH Authentication required.")]
    [InlineData("WRONGPASS invalid username-password pair or user is disabled.")]
    public void Authentication_server_errors_are_Auth(string message) =>
        Assert.Equal(FailureReason.Auth, FailureClassifier.Classify(ServerError(RedisErrorKind.Unknown, message)));

    [Fact]
    public void NOPERM_server_error_is_Permission() =>
        Assert.Equal(
            FailureReason.Permission,
            FailureClassifier.Classify(ServerError(RedisErrorKind.NoPermission, "NOPERM User app has no permissions to run the 'eval' command")));

    [Fact]
    public void TimeoutException_is_Timeout() =>
        Assert.Equal(FailureReason.Timeout, FailureClassifier.Classify(new TimeoutException()));

    [Fact]
    public void RedisTimeoutException_is_Timeout() =>
        Assert.Equal(FailureReason.Timeout, FailureClassifier.Classify(new RedisTimeoutException(CommandFlags.None, "Timeout awaiting response", CommandStatus.Sent)));

    [Fact]
    public void Other_server_errors_are_Server() =>
        Assert.Equal(FailureReason.Server, FailureClassifier.Classify(ServerError(RedisErrorKind.UnknownCommand, "ERR unknown command 'EVALSHA'")));

    [Fact]
    public void WRONGTYPE_is_a_data_error()
    {
        var ex = ServerError(RedisErrorKind.WrongType, "WRONGTYPE Operation against a key holding the wrong kind of value");

        Assert.True(FailureClassifier.IsDataError(ex));
        Assert.NotEqual(FailureReason.Auth, FailureClassifier.Classify(ex));
    }

    [Theory]
    [InlineData("ERR syntax error")]
    [InlineData("NOAUTH Authentication required.")]
    [InlineData("LOADING Redis is loading the dataset in memory")]
    public void Other_server_errors_are_not_data_errors(string message) =>
        Assert.False(FailureClassifier.IsDataError(ServerError(RedisErrorKind.Unknown, message)));

    [Fact]
    public void Non_server_exceptions_are_not_data_errors()
    {
        Assert.False(FailureClassifier.IsDataError(new TimeoutException("WRONGTYPE")));
        Assert.False(FailureClassifier.IsDataError(new InvalidOperationException("WRONGTYPE")));
    }

    [Fact]
    public void Cause_is_found_in_inner_exceptions()
    {
        var refused = ConnectionError(ConnectionFailureType.UnableToConnect, "It was not possible to connect", new SocketException((int)SocketError.ConnectionRefused));
        var dns = ConnectionError(ConnectionFailureType.UnableToConnect, "It was not possible to connect", new SocketException((int)SocketError.HostNotFound));
        var tls = ConnectionError(ConnectionFailureType.UnableToConnect, "It was not possible to connect", new AuthenticationException("untrusted root"));

        Assert.Equal(FailureReason.Refused, FailureClassifier.Classify(refused));
        Assert.Equal(FailureReason.Dns, FailureClassifier.Classify(dns));
        Assert.Equal(FailureReason.Tls, FailureClassifier.Classify(tls));
    }

    [Fact]
    public void Connection_exception_with_authentication_failure_is_Auth() =>
        Assert.Equal(FailureReason.Auth, FailureClassifier.Classify(ConnectionError(ConnectionFailureType.AuthenticationFailure, "auth failed")));

    [Theory]
    [InlineData(ConnectionFailureType.UnableToConnect)]
    [InlineData(ConnectionFailureType.UnableToResolvePhysicalConnection)]
    public void Connection_exception_unable_to_connect_is_Refused(ConnectionFailureType type) =>
        Assert.Equal(FailureReason.Refused, FailureClassifier.Classify(ConnectionError(type, "no connection")));

    [Theory]
    [InlineData(ConnectionFailureType.SocketFailure)]
    [InlineData(ConnectionFailureType.SocketClosed)]
    [InlineData(ConnectionFailureType.ConnectionDisposed)]
    public void Other_connection_exceptions_are_Disconnected(ConnectionFailureType type) =>
        Assert.Equal(FailureReason.Disconnected, FailureClassifier.Classify(ConnectionError(type, "lost")));

    [Fact]
    public void Unrelated_exception_is_Unknown() =>
        Assert.Equal(FailureReason.Unknown, FailureClassifier.Classify(new InvalidOperationException()));

    [Theory]
    [InlineData("Auth", true)]
    [InlineData("Tls", true)]
    [InlineData("Permission", true)]
    [InlineData("Refused", false)]
    [InlineData("Timeout", false)]
    [InlineData("Dns", false)]
    [InlineData("Disconnected", false)]
    [InlineData("Server", false)]
    [InlineData("Unknown", false)]
    public void Only_auth_tls_and_permission_failures_are_configuration_problems(string reason, bool expected) =>
        Assert.Equal(expected, FailureClassifier.IsConfigurationProblem(Enum.Parse<FailureReason>(reason)));

    [Theory]
    [InlineData(ConnectionFailureType.AuthenticationFailure, "Auth")]
    [InlineData(ConnectionFailureType.UnableToConnect, "Refused")]
    [InlineData(ConnectionFailureType.UnableToResolvePhysicalConnection, "Refused")]
    [InlineData(ConnectionFailureType.SocketFailure, "Disconnected")]
    [InlineData(ConnectionFailureType.SocketClosed, "Disconnected")]
    public void Connection_failure_type_without_exception_is_classified_by_type(ConnectionFailureType type, string expected) =>
        Assert.Equal(Enum.Parse<FailureReason>(expected), FailureClassifier.Classify(type, null));

    [Fact]
    public void Connection_failure_exception_cause_wins_over_its_failure_type()
    {
        Assert.Equal(FailureReason.Tls, FailureClassifier.Classify(ConnectionFailureType.SocketFailure, new AuthenticationException("bad cert")));
        Assert.Equal(FailureReason.Dns, FailureClassifier.Classify(ConnectionFailureType.UnableToConnect, new SocketException((int)SocketError.HostNotFound)));
    }

    [Fact]
    public void Connection_failure_with_an_uninformative_exception_falls_back_to_its_failure_type() =>
        Assert.Equal(
            FailureReason.Auth,
            FailureClassifier.Classify(ConnectionFailureType.AuthenticationFailure, new InvalidOperationException("something")));

    private static RedisServerException ServerError(RedisErrorKind kind, string message) => new(kind, CommandFlags.None, message);

    private static RedisConnectionException ConnectionError(ConnectionFailureType type, string message, Exception? inner = null) =>
        new(type, CommandFlags.None, message, inner, CommandStatus.Unknown);
}
