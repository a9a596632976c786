using BendCare.Cache.Connection;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// Which server error replies say that our data or command was wrong (Redis answered: not a breaker failure) and
/// which say that the server is unwell or misconfigured (a breaker failure).
/// </summary>
public class ServerReplyClassificationTests
{
    [Theory]
    [InlineData("WRONGTYPE Operation against a key holding the wrong kind of value")]
    [InlineData("ERR value is not an integer or out of range")]
    [InlineData("ERR value is not a valid float")]
    [InlineData("ERR invalid expire time in 'set' command")]
    [InlineData("ERR increment or decrement would overflow")]
    [InlineData("ERR user_script:3: Script attempted to access nonexistent global variable 'x' script: 5e1b..., on @user_script:3.")]
    [InlineData("ERR Error running script (call to f_5e1b...): @user_script:3: user_script:3: attempt to compare nil with number")]
    [InlineData("ERR Error compiling script (new function): user_script:1: unexpected symbol near 'x'")]
    public void Replies_about_our_data_or_command_are_data_errors(string reply) =>
        Assert.True(FailureClassifier.IsDataError(new RedisServerException(RedisErrorKind.Unknown, CommandFlags.None, reply)), reply);

    [Theory]
    [InlineData("LOADING Redis is loading the dataset in memory")]
    [InlineData("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")]
    [InlineData("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")]
    [InlineData("CLUSTERDOWN The cluster is down")]
    [InlineData("TRYAGAIN Multiple keys request during rehashing of slot")]
    [InlineData("READONLY You can't write against a read only replica.")]
    [InlineData("OOM command not allowed when used memory > 'maxmemory'.")]
    [InlineData("ERR max number of clients reached")]
    [InlineData("NOAUTH Authentication required.")]
    [InlineData("WRONGPASS invalid username-password pair or user is disabled.")]
    [InlineData("NOPERM User app has no permissions to run the 'eval' command")]
    [InlineData("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.")]
    [InlineData("NOREPLICAS Not enough good replicas to write.")]
    [InlineData("ERR unknown command 'EVAL', with args beginning with: ")]
    [InlineData("ERR Error running script (call to f_1): @user_script:1: BUSY Redis is busy running a script.")]
    [InlineData("ERR user_script:1: OOM command not allowed when used memory > 'maxmemory'. script: 1, on @user_script:1.")]
    [InlineData("ERR user_script:1: NOPERM this user has no permissions to access one of the keys used as arguments script: 1")]
    [InlineData("SOMETHINGNEW the server said something we have never seen")]
    public void Replies_about_the_server_are_not_data_errors(string reply) =>
        Assert.False(FailureClassifier.IsDataError(new RedisServerException(RedisErrorKind.Unknown, CommandFlags.None, reply)), reply);

    [Fact]
    public void Connection_and_timeout_exceptions_are_not_data_errors()
    {
        Assert.False(FailureClassifier.IsDataError(new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "SocketFailure on GET")));
        Assert.False(FailureClassifier.IsDataError(new RedisTimeoutException(CommandFlags.None, "Timeout performing GET", CommandStatus.Sent)));
        Assert.False(FailureClassifier.IsDataError(new TimeoutException()));
    }
}
