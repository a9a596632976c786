using BendCare.Cache.Connection;
using Microsoft.Extensions.Time.Testing;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// How one call of a credentials provider ends: its credentials, or a description for the log when it throws,
/// returns null or outlives <see cref="BendCareCacheOptions.CredentialsTimeout"/> (then its token is cancelled).
/// Never an exception. Time is a <see cref="FakeTimeProvider"/>: no test sleeps.
/// </summary>
public class CredentialSourceTests
{
    private readonly BendCareCacheOptions _options = new() { Host = "cache.example", Username = "static", Password = "static-secret", CredentialsTimeout = TimeSpan.FromSeconds(2) };

    [Fact]
    public async Task Without_a_provider_the_static_credentials_are_used()
    {
        var source = new CredentialSource(_options, null, new FakeTimeProvider());

        var (credentials, failure) = await source.GetAsync(CancellationToken.None);

        Assert.False(source.IsRotating);
        Assert.Null(failure);
        Assert.Equal("static", credentials!.Username);
        Assert.Equal("static-secret", credentials.Password);
    }

    [Fact]
    public async Task A_provider_that_throws_gives_a_description_naming_the_exception_without_the_static_password()
    {
        var source = new CredentialSource(_options, static _ => throw new InvalidOperationException("secret static-secret not found"), new FakeTimeProvider());

        var (credentials, failure) = await source.GetAsync(CancellationToken.None);

        Assert.Null(credentials);
        Assert.Contains("threw InvalidOperationException", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("static-secret", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_that_returns_null_is_a_failure()
    {
        var source = new CredentialSource(_options, static _ => ValueTask.FromResult<RedisCredentials>(null!), new FakeTimeProvider());

        var (credentials, failure) = await source.GetAsync(CancellationToken.None);

        Assert.Null(credentials);
        Assert.Contains("returned null", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_that_hangs_is_cancelled_at_the_timeout_and_reported()
    {
        var time = new FakeTimeProvider();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var source = new CredentialSource(_options, async token =>
        {
            using var registration = token.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.Infinite, CancellationToken.None);
            return new RedisCredentials("never", "never");
        }, time);

        var call = source.GetAsync(CancellationToken.None).AsTask();
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(2));
        var (credentials, failure) = await call;

        Assert.Null(credentials);
        Assert.Contains("did not answer within 2 s", failure, StringComparison.Ordinal);
        Assert.True(cancelled.Task.IsCompleted, "the provider's token was not cancelled");
    }

    [Fact]
    public async Task Disposal_cancels_a_call_in_progress_with_OperationCanceledException()
    {
        using var stopping = new CancellationTokenSource();
        var source = new CredentialSource(_options, static async token =>
        {
            await Task.Delay(Timeout.Infinite, token);
            return new RedisCredentials("never", "never");
        }, new FakeTimeProvider());

        var call = source.GetAsync(stopping.Token).AsTask();
        await stopping.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }
}
