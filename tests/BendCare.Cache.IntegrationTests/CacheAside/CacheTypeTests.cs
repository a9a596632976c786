using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using StackExchange.Redis;
using Xunit;

namespace BendCare.Cache.IntegrationTests.CacheAside;

/// <summary>What every cache type does against a real server: keys, TTLs, hits, misses, nulls.</summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class CacheTypeTests(SharedRedisFixture redis)
{
    public static TheoryData<string, string> TypesAndPrefixes
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var type in CacheType.All)
            {
                data.Add(type.Name, "");
                data.Add(type.Name, "bcos:dev:");
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(TypesAndPrefixes))]
    public async Task Miss_calls_the_loader_once_and_writes_back_under_the_documented_key_with_the_type_ttl(string typeName, string prefix)
    {
        var type = CacheType.Named(typeName);
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        string id = Guid.NewGuid().ToString("N");
        var value = type.Make(id);
        var loader = new CountingLoader<object?>(value);

        var first = await type.GetAsync(host.Cache, id, loader.Load);
        await host.WaitForWriteBacksAsync();

        Same.Value(value, first);
        Assert.Equal(1, loader.Calls);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        string key = type.Key(prefix, id);
        Assert.True(await admin.KeyExistsAsync(key), $"expected key {key}");
        var ttl = await admin.KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, type.Ttl - TimeSpan.FromSeconds(30), type.Ttl);

        var second = await type.GetAsync(host.Cache, id, loader.Load);

        Same.Value(value, second);
        Assert.Equal(1, loader.Calls);
    }

    [Theory]
    [MemberData(nameof(CacheType.Names), MemberType = typeof(CacheType))]
    public async Task Null_from_the_loader_is_returned_and_not_cached(string typeName)
    {
        var type = CacheType.Named(typeName);
        if (!type.Nullable)
        {
            // The blacklist loader returns bool: false IS cached (see the blacklist tests).
            Assert.Equal("token_bl", type.Name);
            return;
        }

        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        string id = Guid.NewGuid().ToString("N");
        var loader = new CountingLoader<object?>((object?)null);

        Assert.Null(await type.GetAsync(host.Cache, id, loader.Load));
        await host.WaitForWriteBacksAsync();
        Assert.Null(await type.GetAsync(host.Cache, id, loader.Load));

        Assert.Equal(2, loader.Calls);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        Assert.False(await admin.KeyExistsAsync(type.Key(prefix, id)));
    }

    [Fact]
    public async Task Not_blacklisted_is_cached_for_one_minute_and_blacklisted_for_one_hour()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");
        var database = new CountingLoader<bool>(false);

        Assert.False(await host.Cache.IsTokenBlacklistedAsync(tokenId, database.Load));
        await host.WaitForWriteBacksAsync();
        Assert.False(await host.Cache.IsTokenBlacklistedAsync(tokenId, database.Load));
        Assert.Equal(1, database.Calls);
        Assert.InRange((await admin.KeyTimeToLiveAsync(prefix + "token_bl:" + tokenId))!.Value, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1));

        await host.Cache.BlacklistTokenAsync(tokenId, tokenExpiresAt: null);

        Assert.True(await host.Cache.IsTokenBlacklistedAsync(tokenId, database.Load));
        Assert.Equal(1, database.Calls);
        Assert.InRange((await admin.KeyTimeToLiveAsync(prefix + "token_bl:" + tokenId))!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task Blacklist_entry_lives_until_the_token_expiry_plus_the_clock_skew()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");

        await host.Cache.BlacklistTokenAsync(tokenId, DateTimeOffset.UtcNow.AddMinutes(10));

        // JwtBearer accepts a token 5 minutes past its expiry (ClockSkew): the blacklisting covers that too.
        Assert.InRange((await admin.KeyTimeToLiveAsync(prefix + "token_bl:" + tokenId))!.Value, TimeSpan.FromMinutes(14), TimeSpan.FromMinutes(15));
    }

    [Theory]
    [MemberData(nameof(CacheType.Names), MemberType = typeof(CacheType))]
    public async Task Concurrent_misses_on_one_cold_key_share_one_loader_call(string typeName)
    {
        var type = CacheType.Named(typeName);
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        string id = Guid.NewGuid().ToString("N");
        var loader = new GatedLoader<object?>(type.Make(id));

        var callers = Enumerable.Range(0, 200).Select(_ => Task.Run(async () => await type.GetAsync(host.Cache, id, loader.Load))).ToArray();
        await loader.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => host.Engine.FollowersOf(type.Key(prefix, id)) == callers.Length - 1, "all callers joined the load");
        loader.Release();
        var results = await Task.WhenAll(callers);

        Assert.Equal(1, loader.Calls);
        Assert.All(results, r => Same.Value(type.Make(id), r));
    }

    [Fact]
    public async Task Loader_exception_reaches_every_caller_unchanged()
    {
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, SharedRedisFixture.NewKeyPrefix());
        var failure = new InvalidOperationException("database down");

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(
            async () => await host.Cache.GetUserContextAsync("u-" + Guid.NewGuid(), _ => throw failure));

        Assert.Same(failure, thrown);
    }

    [Fact]
    public async Task Hits_and_misses_are_logged_at_debug_with_the_seed_texts_and_never_a_whole_token_id()
    {
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, SharedRedisFixture.NewKeyPrefix());
        string tokenId = "secret-token-id-" + Guid.NewGuid().ToString("N");
        foreach (var type in CacheType.All)
        {
            string id = type.Name.StartsWith("token", StringComparison.Ordinal) || type.Name.StartsWith("jwt", StringComparison.Ordinal) ? tokenId : "u-" + Guid.NewGuid();
            var loader = new CountingLoader<object?>(type.Make(id));
            await type.GetAsync(host.Cache, id, loader.Load);
            await host.WaitForWriteBacksAsync();
            await type.GetAsync(host.Cache, id, loader.Load);
        }

        var messages = host.Logs.Entries.Where(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Debug).Select(e => e.Message).ToList();
        foreach (string text in new[] { "User context", "Role permissions", "User basic info", "Token blacklist", "JWT payload" })
        {
            Assert.Contains(messages, m => m.StartsWith(text + " cache hit in Redis", StringComparison.Ordinal));
            Assert.Contains(messages, m => m.StartsWith(text + " cache miss in Redis", StringComparison.Ordinal));
        }

        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains(tokenId, StringComparison.Ordinal));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            await Task.Delay(5);
        }
    }
}
