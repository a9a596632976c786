using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Topology;

/// <summary>
/// Credentials that rotate, against a real server with a real ACL user: the password is changed on the server
/// (<c>ACL SETUSER user resetpass &gt;new</c>) while the provider starts returning the new one, and the server drops the
/// user's connections (<c>CLIENT KILL USER</c>). Hits resume with the new password without a restart; a provider that
/// throws or hangs never fails a request, is logged once and is asked again; the static <c>REDIS_PASSWORD</c> path is
/// unchanged. Recoveries are polled with generous deadlines (a loaded machine; back-offs of up to a few seconds).
/// </summary>
public sealed class RotatingCredentialsTests(AclServerFixture acl, ITestOutputHelper output) : IClassFixture<AclServerFixture>
{
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task After_a_rotation_and_dropped_connections_hits_resume_with_the_new_password_from_the_provider()
    {
        var (user, prefix) = await CreateUserAsync("pw-1");
        var provider = new RotatingProvider(user, "pw-1");
        await using var host = await StartAsync(prefix, o => o.CredentialsProvider = provider.GetAsync);

        // The application runs on the provider's credentials: the user exists only with them.
        await host.AssertHitsResumeAsync(Recovery);
        string id = "rotated-" + Guid.NewGuid().ToString("N");
        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic(id));
        await ReadUntilHitAsync(host, id, loader);
        int providerCallsBefore = provider.Calls;

        await acl.ExecuteAsync("ACL", "SETUSER", user, "resetpass", ">pw-2");
        provider.Password = "pw-2";
        await acl.ExecuteAsync("CLIENT", "KILL", "USER", user);

        // The client reconnects with pw-1 and is rejected; the library asks the provider and reconnects with pw-2.
        // Every read meanwhile returns the loader's value; the value cached before the rotation is a hit again.
        await ReadUntilHitAsync(host, id, loader);

        output.WriteLine(Describe(host) + $" | provider calls {provider.Calls}");
        Assert.True(provider.Calls > providerCallsBefore, "the provider was not asked again");
        Assert.Contains(await acl.DenialsForAsync(user), d => d.StartsWith("auth:", StringComparison.Ordinal));
        Assert.Contains(host.Logs.Entries, e => e.EventId.Id == Log.ConnectionRenewedId);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains("pw-1", StringComparison.Ordinal) || e.Message.Contains("pw-2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_provider_registered_in_the_container_is_used_and_asked_again_after_a_rotation()
    {
        var (user, prefix) = await CreateUserAsync("di-1");
        var provider = new RotatingProvider(user, "di-1");
        await using var host = await StartAsync(prefix, configure: null, services => services.AddSingleton<IRedisCredentialsProvider>(provider));

        await host.AssertHitsResumeAsync(Recovery);
        await acl.ExecuteAsync("ACL", "SETUSER", user, "resetpass", ">di-2");
        provider.Password = "di-2";
        await acl.ExecuteAsync("CLIENT", "KILL", "USER", user);
        await host.AssertHitsResumeAsync(Recovery);

        Assert.True(provider.Calls >= 2, $"provider calls: {provider.Calls}");
    }

    [Fact]
    public async Task With_a_refresh_interval_the_client_reconnects_by_itself_with_the_refreshed_password_and_is_never_rejected()
    {
        var (user, prefix) = await CreateUserAsync("ri-1");
        var provider = new RotatingProvider(user, "ri-1");
        await using var host = await StartAsync(prefix, o =>
        {
            o.CredentialsProvider = provider.GetAsync;
            o.CredentialsRefreshInterval = TimeSpan.FromMilliseconds(500);
        });
        await host.AssertHitsResumeAsync(Recovery);

        await acl.ExecuteAsync("ACL", "SETUSER", user, "resetpass", ">ri-2");
        provider.Password = "ri-2";

        // Two refreshes after the change: the second began after the first had handed the new password over.
        int seen = provider.Calls;
        await EventuallyAsync(() => provider.Calls >= seen + 2, "the provider was not asked again on its interval");
        await acl.ExecuteAsync("CLIENT", "KILL", "USER", user);
        await host.AssertHitsResumeAsync(Recovery);

        output.WriteLine(Describe(host));
        Assert.DoesNotContain(await acl.DenialsForAsync(user), d => d.StartsWith("auth:", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Id == Log.ConnectionRenewedId);
    }

    [Fact]
    public async Task Past_MaxConnectionAge_the_connection_is_renewed_with_fresh_credentials_while_every_read_stays_a_hit()
    {
        var (user, prefix) = await CreateUserAsync("age-1");
        var provider = new RotatingProvider(user, "age-1") { SetOnServer = (u, p) => acl.ExecuteAsync("ACL", "SETUSER", u, "resetpass", ">" + p) };
        await using var host = await StartAsync(prefix, o =>
        {
            o.CredentialsProvider = provider.GetAsync;
            o.MaxConnectionAge = TimeSpan.FromSeconds(1);
            o.MinReconnectInterval = TimeSpan.FromSeconds(1);
        });
        string id = "aged-" + Guid.NewGuid().ToString("N");
        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic(id));
        await ReadUntilHitAsync(host, id, loader);
        int loads = loader.Calls;

        // A new password each time the provider is asked: each renewal must authenticate with the one it got.
        provider.RotateOnEachCall = true;
        var deadline = DateTime.UtcNow + Recovery;
        while (host.Logs.Entries.Count(e => e.EventId.Id == Log.ConnectionRenewedId) < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, "fewer than 3 renewals: " + Describe(host));
            Same.Value(Models.UserBasic(id), await host.Cache.GetUserBasicAsync(id, loader.Load));
            await Task.Delay(20);
        }

        // Once the third renewal has connected (it authenticated with the password it was given, or ACL LOG says so),
        // read once more: still a hit.
        await EventuallyAsync(() => host.Connection.MultiplexersCreated >= 4, "the third renewal did not connect: " + Describe(host));
        Same.Value(Models.UserBasic(id), await host.Cache.GetUserBasicAsync(id, loader.Load));

        output.WriteLine(Describe(host) + $" | provider calls {provider.Calls}");
        Assert.Equal(loads, loader.Calls);
        Assert.Empty(await acl.DenialsForAsync(user));
    }

    [Fact]
    public async Task A_provider_that_throws_gives_loader_values_logs_one_error_and_is_asked_again_until_it_succeeds()
    {
        var (user, prefix) = await CreateUserAsync("th-1");
        var provider = new RotatingProvider(user, "th-1") { FailFirst = 3 };
        await using var host = await StartAsync(prefix, o => o.CredentialsProvider = provider.GetAsync);

        // Called at once, as a user would: the loader answers, nothing throws.
        await host.AssertReadsReturnLoaderValuesAsync("th");

        await host.AssertHitsResumeAsync(Recovery);

        output.WriteLine(Describe(host) + $" | provider calls {provider.Calls}");
        Assert.True(provider.Calls >= 4, $"provider calls: {provider.Calls}");
        var error = Assert.Single(host.Logs.Entries, e => e.Level >= LogLevel.Error);
        Assert.Equal(Log.CredentialsProviderFailedId, error.EventId.Id);
        Assert.Contains("threw InvalidOperationException: secret bcos/redis not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_that_hangs_is_cancelled_at_CredentialsTimeout_and_requests_never_wait_for_it()
    {
        var (user, prefix) = await CreateUserAsync("hg-1");
        var provider = new RotatingProvider(user, "hg-1") { HangFirst = 1 };
        await using var host = await StartAsync(prefix, o =>
        {
            o.CredentialsProvider = provider.GetAsync;
            o.CredentialsTimeout = TimeSpan.FromMilliseconds(500);
        });

        await host.AssertReadsReturnLoaderValuesAsync("hg");

        await host.AssertHitsResumeAsync(Recovery);

        output.WriteLine(Describe(host) + $" | provider calls {provider.Calls}");
        Assert.True(provider.CancelledCalls >= 1, "the hanging call's token was never cancelled");
        var error = Assert.Single(host.Logs.Entries, e => e.Level >= LogLevel.Error);
        Assert.Equal(Log.CredentialsProviderFailedId, error.EventId.Id);
        Assert.Contains("did not answer within 0.5 s (CredentialsTimeout); it was cancelled", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_static_REDIS_PASSWORD_path_is_unchanged_and_recovers_from_dropped_connections_on_its_own()
    {
        var (user, prefix) = await CreateUserAsync("static-pw");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["REDIS_HOST"] = acl.Server.Host,
            ["REDIS_PORT"] = acl.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["REDIS_USERNAME"] = user,
            ["REDIS_PASSWORD"] = "static-pw",
            ["BendCareCache:KeyPrefix"] = prefix,
            ["BendCareCache:OperationTimeout"] = "00:00:05",
        }).Build();
        var logs = new CapturedLogs();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        services.AddBendCareRedisCache();
        await using var provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredService<IRbacCache>();
        string id = "static-" + Guid.NewGuid().ToString("N");
        var loader = new CountingLoader<UserBasicInfo?>(Models.UserBasic(id));

        await ReadUntilHitAsync(cache, id, loader);
        await acl.ExecuteAsync("CLIENT", "KILL", "USER", user);
        await ReadUntilHitAsync(cache, id, loader);

        Assert.Contains(logs.Entries, e => e.EventId.Id == Log.ConnectingId && e.Message.Contains($"user={user}, password=****", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id is Log.ConnectionRenewedId or Log.CredentialsProviderFailedId);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("static-pw", StringComparison.Ordinal));
        Assert.Empty(await acl.DenialsForAsync(user));
    }

    private async Task<(string User, string Prefix)> CreateUserAsync(string password)
    {
        string user = $"rot-{Guid.NewGuid():N}";
        string prefix = $"bcos:rot{Guid.NewGuid():N}:";
        await acl.CreateUserAsync(user, password, AclRules.ForLibrary(prefix, acl.Version));
        return (user, prefix);
    }

    /// <summary>A host whose only way in is the provider's credentials (the server's default user has another password); started without waiting.</summary>
    private Task<CacheHost> StartAsync(string prefix, Action<BendCareCacheOptions>? configure, Action<IServiceCollection>? services = null) =>
        CacheHost.StartAsync(acl.Server.Host, acl.Server.Port, prefix, o =>
        {
            // Not a timeout test: a loaded machine must not turn a hit into a miss.
            o.OperationTimeout = TimeSpan.FromSeconds(5);
            configure?.Invoke(o);
        }, waitForConnection: false, registerServices: services);

    private static Task ReadUntilHitAsync(CacheHost host, string id, CountingLoader<UserBasicInfo?> loader) => CacheHost.ReadUntilHitAsync(host.Cache, id, loader, Recovery, host);

    private static Task ReadUntilHitAsync(IRbacCache cache, string id, CountingLoader<UserBasicInfo?> loader) => CacheHost.ReadUntilHitAsync(cache, id, loader, Recovery);

    private static async Task EventuallyAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Recovery;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(25);
        }
    }

    private static string Describe(CacheHost host) =>
        $"multiplexers {host.Connection.MultiplexersCreated}, breaker {host.Connection.BreakerState}, last error {host.Connection.LastError} | logs: "
        + string.Join(" | ", host.Logs.Entries.Where(e => e.EventId.Id is >= 2000 and < 3000).Select(e => $"{e.EventId.Id} {e.Level}: {e.Message}"));

    /// <summary>
    /// The application's credentials provider: returns the user and the current password; can fail or hang its first
    /// calls, and rotate the password itself on each call (then it changes it on the server first, as a token issuer would).
    /// </summary>
    private sealed class RotatingProvider(string user, string password) : IRedisCredentialsProvider
    {
        private int _calls;
        private int _cancelled;

        public string Password { get; set; } = password;

        public int FailFirst { get; init; }

        public int HangFirst { get; init; }

        public bool RotateOnEachCall { get; set; }

        public Func<string, string, Task>? SetOnServer { get; init; }

        public int Calls => Volatile.Read(ref _calls);

        public int CancelledCalls => Volatile.Read(ref _cancelled);

        public async ValueTask<RedisCredentials> GetAsync(CancellationToken cancellationToken)
        {
            int call = Interlocked.Increment(ref _calls);
            if (call <= FailFirst)
            {
                throw new InvalidOperationException("secret bcos/redis not found");
            }

            if (call <= HangFirst)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref _cancelled);
                    throw;
                }
            }

            if (RotateOnEachCall && SetOnServer is { } set)
            {
                Password = $"{user}-{call}";
                await set(user, Password);
            }

            return new RedisCredentials(user, Password);
        }

        public ValueTask<RedisCredentials> GetCredentialsAsync(CancellationToken cancellationToken) => GetAsync(cancellationToken);
    }
}
