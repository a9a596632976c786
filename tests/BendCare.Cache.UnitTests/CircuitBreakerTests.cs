using BendCare.Cache.Configuration;
using BendCare.Cache.Connection;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests;

public class CircuitBreakerTests
{
    private const int Threshold = 3;
    private static readonly TimeSpan OpenDuration = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxOpenDuration = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StablePeriod = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();
    private readonly CircuitBreaker _breaker;
    private readonly List<(BreakerState From, BreakerState To)> _changes = [];

    public CircuitBreakerTests()
    {
        _breaker = new CircuitBreaker(Threshold, OpenDuration, MaxOpenDuration, StablePeriod, _time);
        _breaker.StateChanged += (from, to) => _changes.Add((from, to));
    }

    [Fact]
    public void New_breaker_is_closed_and_allows_requests()
    {
        Assert.Equal(BreakerState.Closed, _breaker.State);
        Assert.True(_breaker.TryStartProbe());
        Assert.Equal(0, _breaker.OpenedAt);
    }

    [Fact]
    public void A_slow_probe_answer_closes_the_breaker_primed_so_one_failure_reopens_it_with_the_period_doubled()
    {
        OpenAndTakeProbe();
        _breaker.OnProbeSuccess(slow: true);
        Assert.Equal(BreakerState.Closed, _breaker.State);

        // One failure reopens it, for twice the period.
        _breaker.OnFailure();
        AssertOpenFor(2 * OpenDuration);
        Assert.True(_breaker.TryStartProbe());
    }

    [Fact]
    public void A_breaker_primed_just_under_a_stable_period_ago_reopens_at_one_failure_with_the_period_doubled_again()
    {
        PrimeAfterAFailedProbe();

        _time.Advance(StablePeriod - TimeSpan.FromTicks(1));
        _breaker.OnFailure();

        AssertOpenFor(4 * OpenDuration);
    }

    [Fact]
    public void A_breaker_primed_a_stable_period_ago_without_a_failure_since_counts_a_failure_as_an_ordinary_one()
    {
        // Redis stayed slow but answered in time for a whole stable period: no prompt reply made the breaker an
        // ordinary one, but a failure now is a first failure, not a reopening for a doubled period.
        PrimeAfterAFailedProbe();

        _time.Advance(StablePeriod);
        Fail(Threshold - 1);
        Assert.Equal(BreakerState.Closed, _breaker.State);
        Fail(1);

        AssertOpenFor(OpenDuration);
    }

    [Fact]
    public void A_prompt_reply_after_a_slow_probe_makes_the_breaker_an_ordinary_one_again()
    {
        OpenAndTakeProbe();
        _breaker.OnProbeSuccess(slow: true);

        _breaker.OnRequestSuccess();
        Fail(Threshold - 1);
        Assert.Equal(BreakerState.Closed, _breaker.State);
        Fail(1);
        Assert.Equal(BreakerState.Open, _breaker.State);

        // Opened by ordinary failures: the base period again.
        AssertOpenFor(OpenDuration);
        Assert.True(_breaker.TryStartProbe());
    }

    [Fact]
    public void A_prompt_probe_answer_closes_the_breaker_fully()
    {
        OpenAndTakeProbe();
        _breaker.OnProbeSuccess();

        Fail(Threshold - 1);
        Assert.Equal(BreakerState.Closed, _breaker.State);
    }

    [Fact]
    public void Breaker_stays_closed_below_the_failure_threshold()
    {
        Fail(Threshold - 1);

        Assert.Equal(BreakerState.Closed, _breaker.State);
        Assert.True(_breaker.TryStartProbe());
        Assert.Empty(_changes);
    }

    [Fact]
    public void Breaker_opens_at_the_failure_threshold_and_raises_StateChanged_once()
    {
        Fail(Threshold);

        Assert.Equal(BreakerState.Open, _breaker.State);
        Assert.Equal([(BreakerState.Closed, BreakerState.Open)], _changes);
        Assert.Equal(_time.GetTimestamp(), _breaker.OpenedAt);
    }

    [Fact]
    public void Further_failures_while_open_raise_no_more_StateChanged()
    {
        Fail(Threshold + 5);

        Assert.Equal(BreakerState.Open, _breaker.State);
        Assert.Single(_changes);
    }

    [Fact]
    public void Open_breaker_refuses_requests_until_the_open_period_is_over()
    {
        Fail(Threshold);

        Assert.False(_breaker.TryStartProbe());
        _time.Advance(OpenDuration - TimeSpan.FromTicks(1));
        Assert.False(_breaker.TryStartProbe());
        Assert.Equal(BreakerState.Open, _breaker.State);
    }

    [Fact]
    public void Open_breaker_allows_exactly_one_probe_after_the_open_period()
    {
        Fail(Threshold);
        _time.Advance(OpenDuration);

        Assert.True(_breaker.TryStartProbe());
        Assert.Equal(BreakerState.HalfOpen, _breaker.State);
        for (int i = 0; i < 100; i++)
        {
            Assert.False(_breaker.TryStartProbe());
        }
    }

    [Fact]
    public void Open_breaker_allows_exactly_one_probe_among_concurrent_callers()
    {
        Fail(Threshold);
        _time.Advance(OpenDuration);
        int allowed = 0;

        Parallel.For(0, 1_000, _ =>
        {
            if (_breaker.TryStartProbe())
            {
                Interlocked.Increment(ref allowed);
            }
        });

        Assert.Equal(1, allowed);
    }

    [Fact]
    public void Half_open_breaker_keeps_refusing_requests_however_long_the_probe_takes()
    {
        OpenAndTakeProbe();

        _time.Advance(TimeSpan.FromMinutes(10));

        Assert.False(_breaker.TryStartProbe());
    }

    [Fact]
    public void Successful_probe_closes_the_breaker()
    {
        OpenAndTakeProbe();

        _breaker.OnProbeSuccess();

        Assert.Equal(BreakerState.Closed, _breaker.State);
        Assert.True(_breaker.TryStartProbe());
        Assert.Equal(0, _breaker.OpenedAt);
        Assert.Equal([(BreakerState.Closed, BreakerState.Open), (BreakerState.HalfOpen, BreakerState.Closed)], _changes);
    }

    [Fact]
    public void Failed_probe_reopens_the_breaker_for_twice_the_period()
    {
        OpenAndTakeProbe();

        _breaker.OnFailure();

        Assert.Equal(BreakerState.Open, _breaker.State);
        _time.Advance(2 * OpenDuration - TimeSpan.FromTicks(1));
        Assert.False(_breaker.TryStartProbe());
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.True(_breaker.TryStartProbe());
    }

    [Fact]
    public void Failed_probes_double_the_open_period_up_to_the_maximum()
    {
        Fail(Threshold);

        // 1s, then 2s, 4s, 5s (capped), 5s.
        TimeSpan[] expected = [OpenDuration, 2 * OpenDuration, 4 * OpenDuration, MaxOpenDuration, MaxOpenDuration];
        foreach (var period in expected)
        {
            AssertOpenFor(period);
            Assert.True(_breaker.TryStartProbe());
            _breaker.OnFailure();
        }
    }

    [Fact]
    public void Failed_probe_keeps_the_time_the_outage_began()
    {
        Fail(Threshold);
        long openedAt = _breaker.OpenedAt;
        _time.Advance(OpenDuration);
        Assert.True(_breaker.TryStartProbe());

        _breaker.OnFailure();

        Assert.Equal(openedAt, _breaker.OpenedAt);
    }

    [Fact]
    public void Failed_probe_raises_no_StateChanged_the_breaker_never_closed()
    {
        OpenAndTakeProbe();

        _breaker.OnFailure();

        Assert.Single(_changes);
    }

    [Fact]
    public void Closing_resets_the_open_period_to_the_base_duration()
    {
        OpenAndTakeProbe();
        _breaker.OnFailure();
        _time.Advance(2 * OpenDuration);
        Assert.True(_breaker.TryStartProbe());
        _breaker.OnProbeSuccess();

        Fail(Threshold);

        AssertOpenFor(OpenDuration);
    }

    [Fact]
    public void Trip_opens_a_closed_breaker_immediately()
    {
        _breaker.Trip();

        Assert.Equal(BreakerState.Open, _breaker.State);
        Assert.False(_breaker.TryStartProbe());
        Assert.Equal([(BreakerState.Closed, BreakerState.Open)], _changes);
        AssertOpenFor(OpenDuration);
    }

    [Fact]
    public void Trip_on_an_open_breaker_changes_nothing()
    {
        Fail(Threshold);
        _time.Advance(TimeSpan.FromMilliseconds(500));

        _breaker.Trip();

        Assert.Single(_changes);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(_breaker.TryStartProbe());
    }

    [Fact]
    public void Trip_on_a_half_open_breaker_leaves_the_probe_in_charge()
    {
        OpenAndTakeProbe();

        _breaker.Trip();

        Assert.Equal(BreakerState.HalfOpen, _breaker.State);
        _breaker.OnProbeSuccess();
        Assert.Equal(BreakerState.Closed, _breaker.State);
    }

    [Fact]
    public void AllowProbeNow_lets_the_next_request_probe_immediately()
    {
        Fail(Threshold);
        Assert.False(_breaker.TryStartProbe());

        _breaker.AllowProbeNow();

        Assert.True(_breaker.TryStartProbe());
        Assert.Equal(BreakerState.HalfOpen, _breaker.State);
        Assert.False(_breaker.TryStartProbe());
    }

    [Fact]
    public void AllowProbeNow_on_a_closed_breaker_changes_nothing()
    {
        _breaker.AllowProbeNow();

        Assert.Equal(BreakerState.Closed, _breaker.State);
        Fail(Threshold);
        Assert.False(_breaker.TryStartProbe());
    }

    [Fact]
    public void Success_resets_the_consecutive_failure_count()
    {
        Fail(Threshold - 1);
        _breaker.OnProbeSuccess();
        Fail(Threshold - 1);

        Assert.Equal(BreakerState.Closed, _breaker.State);
        Assert.Empty(_changes);

        _breaker.OnFailure();
        Assert.Equal(BreakerState.Open, _breaker.State);
    }

    [Fact]
    public void Success_while_closed_raises_no_StateChanged()
    {
        _breaker.OnProbeSuccess();
        _breaker.OnProbeSuccess();

        Assert.Empty(_changes);
    }

    [Fact]
    public void Threshold_of_one_opens_on_the_first_failure()
    {
        var breaker = new CircuitBreaker(1, OpenDuration, MaxOpenDuration, StablePeriod, _time);

        breaker.OnFailure();

        Assert.Equal(BreakerState.Open, breaker.State);
    }

    [Fact]
    public async Task A_data_error_counts_as_redis_answering_and_never_opens_the_breaker()
    {
        // Regression: a WRONGTYPE reply once left a half-open breaker half-open for good. Redis answered: it is up,
        // the data at one key is not, so the breaker must treat it as a success.
        var time = new FakeTimeProvider();
        var options = new BendCareCacheOptions { Host = "cache.invalid", BreakerFailureThreshold = 1 };
        await using var connection = new RedisConnection(options, new CacheMetrics(null), NullLogger.Instance, time, (_, _) => Task.FromResult(InertMultiplexer.Create()));
        await connection.FirstConnected;

        var wrongType = await connection.ExecuteAsync(
            "key",
            static (_, _) => Task.FromException<bool>(new RedisServerException(RedisErrorKind.WrongType, CommandFlags.None, "WRONGTYPE Operation against a key holding the wrong kind of value")),
            0,
            "test");
        var later = await connection.ExecuteAsync("key", static (_, _) => Task.FromResult(true), 0, "test");

        Assert.Equal(OperationStatus.DataError, wrongType.Status);
        Assert.Equal(BreakerState.Closed, connection.BreakerState);
        Assert.Equal(OperationStatus.Ok, later.Status);
    }

    private void Fail(int times)
    {
        for (int i = 0; i < times; i++)
        {
            _breaker.OnFailure();
        }
    }

    /// <summary>Opens the breaker (the threshold's failures), lets its open period pass and takes the probe.</summary>
    private void OpenAndTakeProbe()
    {
        Fail(Threshold);
        _time.Advance(OpenDuration);
        Assert.True(_breaker.TryStartProbe());
    }

    /// <summary>Opens the breaker, fails its first probe (period doubled), then closes it primed with a slow probe.</summary>
    private void PrimeAfterAFailedProbe()
    {
        OpenAndTakeProbe();
        _breaker.OnFailure();
        AssertOpenFor(2 * OpenDuration);
        Assert.True(_breaker.TryStartProbe());
        _breaker.OnProbeSuccess(slow: true);
        Assert.Equal(BreakerState.Closed, _breaker.State);
    }

    /// <summary>Asserts the breaker refuses requests until exactly <paramref name="period"/> has passed (without taking the probe).</summary>
    private void AssertOpenFor(TimeSpan period)
    {
        Assert.Equal(BreakerState.Open, _breaker.State);
        _time.Advance(period - TimeSpan.FromTicks(1));
        Assert.False(_breaker.TryStartProbe());
        _time.Advance(TimeSpan.FromTicks(1));
    }
}
