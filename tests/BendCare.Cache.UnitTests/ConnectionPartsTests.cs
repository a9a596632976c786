using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

/// <summary>The small one-job classes the connection is made of, with a <see cref="FakeTimeProvider"/> for time.</summary>
public class ConnectionPartsTests
{
    private static readonly TimeSpan Stable = TimeSpan.FromSeconds(10);

    [Fact]
    public void Trouble_clock_counts_a_flapping_episode_from_its_first_opening()
    {
        var time = new FakeTimeProvider();
        var clock = new TroubleClock(time, Stable);
        for (int i = 0; i < 120; i++)
        {
            clock.OnTrouble();
            time.Advance(TimeSpan.FromMilliseconds(125));
            clock.OnCalm();
            time.Advance(TimeSpan.FromMilliseconds(125));
        }

        Assert.Equal(TimeSpan.FromSeconds(30), clock.InTroubleFor());
    }

    [Fact]
    public void Trouble_clock_ends_the_episode_only_after_the_stable_period()
    {
        var time = new FakeTimeProvider();
        var clock = new TroubleClock(time, Stable);
        clock.OnTrouble();
        time.Advance(TimeSpan.FromSeconds(5));
        clock.OnCalm();

        time.Advance(Stable - TimeSpan.FromMilliseconds(1));
        Assert.NotNull(clock.InTroubleFor());
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(clock.InTroubleFor());
    }

    [Fact]
    public void Trouble_clock_without_trouble_reports_none() => Assert.Null(new TroubleClock(new FakeTimeProvider(), Stable).InTroubleFor());

    [Fact]
    public void Failure_log_keeps_one_redacted_text_and_warns_once_a_minute()
    {
        var time = new FakeTimeProvider();
        var logger = new ListLogger();
        var log = new FailureLog(logger, time, "cache:6379", "s3cret-password");
        string id = "0123456789abcdef0123456789abcdef";

        log.Record(FailureReason.Refused, new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"No connection is active/available to service this operation: GET bcos:dev:token_bl:{id}; password=s3cret-password"), (RedisKey)$"bcos:dev:token_bl:{id}");
        log.OnUnavailable();
        log.OnAvailable();
        log.OnUnavailable();
        time.Advance(FailureLog.UnavailableLogInterval);
        log.OnUnavailable();

        Assert.DoesNotContain(id, log.LastError, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-password", log.LastError, StringComparison.Ordinal);
        Assert.Contains("token_bl:012345…", log.LastError, StringComparison.Ordinal);
        Assert.Equal([Log.CacheUnavailableId, Log.CacheRecoveredId, Log.CacheUnavailableId], logger.EventIds);
        Assert.All(logger.Messages, m => Assert.DoesNotContain(id, m, StringComparison.Ordinal));
    }

    [Fact]
    public void Failure_log_logs_a_configuration_problem_at_once_then_every_few_minutes()
    {
        var time = new FakeTimeProvider();
        var logger = new ListLogger();
        var log = new FailureLog(logger, time, "cache:6379", null);
        var noperm = new RedisServerException(RedisErrorKind.NoPermission, CommandFlags.None, "NOPERM no permissions to run the 'eval' command");

        log.Record(FailureReason.Permission, noperm);
        log.Record(FailureReason.Permission, noperm);
        Assert.True(log.HasRecentConfigurationProblem);
        time.Advance(FailureLog.ConfigurationErrorLogInterval);
        Assert.False(log.HasRecentConfigurationProblem);
        log.Record(FailureReason.Permission, noperm);

        Assert.Equal([Log.ConfigurationProblemId, Log.ConfigurationProblemId], logger.EventIds);
    }

    [Theory]
    [InlineData("GET token_bl:abcdefghijklmnop", "GET token_bl:abcdef…")]
    [InlineData("on [0]:GET bcos:dev:jwt_payload:abcdefghijklmnop (StringProcessor)", "on [0]:GET bcos:dev:jwt_payload:abcdef… (StringProcessor)")]
    [InlineData("SMEMBERS role_users:r1", "SMEMBERS role_users:…")]
    [InlineData("host:6379,password=hunter2,ssl=true", "host:6379,password=****,ssl=true")]
    [InlineData("bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "bearer eyJ…")]
    [InlineData("Auth: the first connection attempt failed", "Auth: the first connection attempt failed")]
    public void Redact_shortens_our_keys_and_masks_secrets(string text, string expected) =>
        Assert.Equal(expected, Redact.ErrorText(text));

    [Fact]
    public void Redact_replaces_a_known_key_whole_even_when_its_id_holds_a_space() =>
        Assert.Equal("GET token_bl:abcdef… failed", Redact.ErrorText("GET token_bl:abcdefgh ijkl failed", knownKey: "token_bl:abcdefgh ijkl"));

    [Fact]
    public void Redact_first_line_masks_the_password_and_keys_then_keeps_the_first_line_shortened()
    {
        string text = "WRONGPASS s3cret-password on GET token_bl:abcdefghijklmnop\r\nsecond line " + new string('x', 50);

        Assert.Equal("WRONGPASS **** on GET token_bl:abcdef…", Redact.FirstLine(text, "s3cret-password", 100));
        Assert.Equal("WRONGPASS ****…", Redact.FirstLine(text, "s3cret-password", 14));
    }

    private sealed class ListLogger : ILogger
    {
        private readonly List<(int Id, string Message)> _entries = [];

        public IReadOnlyList<int> EventIds => [.. _entries.Select(e => e.Id)];

        public IReadOnlyList<string> Messages => [.. _entries.Select(e => e.Message)];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _entries.Add((eventId.Id, formatter(state, exception)));
    }
}
