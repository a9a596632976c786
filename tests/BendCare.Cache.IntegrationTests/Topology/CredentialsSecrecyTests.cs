using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Topology;

/// <summary>
/// Passwords handed out by a credentials provider never appear in what the library writes (log lines, the health
/// check's data), also when the provider later fails with a message that repeats the secret it handed out. Against a
/// real ACL server: the provider's password is the only way in, so the library really holds it.
/// </summary>
public sealed class CredentialsSecrecyTests(AclServerFixture acl, ITestOutputHelper output) : IClassFixture<AclServerFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static readonly TheoryData<string> FailureMessages = new()
    {
        // A provider that reports the secret string it could not use (the Secrets Manager JSON form).
        "the secret failed validation: {\"username\":\"{user}\",\"password\":\"{password}\"}",

        // The same secret in plain words.
        "AUTH with {password} was refused by the last check",
    };

    [Theory]
    [MemberData(nameof(FailureMessages))]
    public async Task A_password_the_provider_handed_out_is_masked_when_its_later_failure_message_repeats_it(string failureTemplate)
    {
        string user = $"sec-{Guid.NewGuid():N}";
        string password = $"Pw-{Guid.NewGuid():N}";
        string prefix = $"bcos:sec{Guid.NewGuid():N}:";
        await acl.CreateUserAsync(user, password, AclRules.ForLibrary(prefix, acl.Version));
        string failure = failureTemplate.Replace("{user}", user, StringComparison.Ordinal).Replace("{password}", password, StringComparison.Ordinal);

        int calls = 0;
        ValueTask<RedisCredentials> Provider(CancellationToken _) =>
            Interlocked.Increment(ref calls) == 1
                ? ValueTask.FromResult(new RedisCredentials(user, password))
                : ValueTask.FromException<RedisCredentials>(new InvalidOperationException(failure));

        await using var host = await CacheHost.StartAsync(
            acl.Server.Host,
            acl.Server.Port,
            prefix,
            o =>
            {
                o.OperationTimeout = TimeSpan.FromSeconds(5);
                o.CredentialsProvider = Provider;
                o.CredentialsRefreshInterval = TimeSpan.FromMilliseconds(300);
            },
            waitForConnection: false,
            registerServices: services => services.AddHealthChecks().AddBendCareRedisCache());

        // The application works on the provider's first answer; the refreshes that follow fail.
        await host.AssertHitsResumeAsync(Patience);
        var deadline = DateTime.UtcNow + Patience;
        while (!host.Logs.Entries.Any(e => e.EventId.Id == Log.CredentialsProviderFailedId))
        {
            Assert.True(DateTime.UtcNow < deadline, "no Error 2011 after the provider started failing");
            await Task.Delay(50);
        }

        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        string healthData = string.Join(" | ", health.Entries.SelectMany(e => e.Value.Data.Select(d => $"{d.Key}={d.Value}")));
        var error = host.Logs.Entries.First(e => e.EventId.Id == Log.CredentialsProviderFailedId);
        output.WriteLine($"2011 {error.Level}: {error.Message}");
        output.WriteLine($"health: {health.Status} {healthData}");

        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains(password, StringComparison.Ordinal));
        Assert.DoesNotContain(password, healthData, StringComparison.Ordinal);
    }
}
