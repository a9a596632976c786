using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.Logging;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Freshness;

/// <summary>Revocations stick and JWT payloads are bound to their token and its lifetime.</summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class TokenTests(SharedRedisFixture redis)
{
    [Fact]
    public async Task Blacklisting_wins_over_a_check_in_flight_that_loaded_false()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var a = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var b = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");
        var pausedFalse = new GatedLoader<bool>(false);

        var check = a.Cache.IsTokenBlacklistedAsync(tokenId, pausedFalse.Load).AsTask();
        await pausedFalse.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await a.Cache.BlacklistTokenAsync(tokenId, DateTimeOffset.UtcNow.AddHours(2));
        pausedFalse.Release();
        Assert.False(await check);
        await a.WaitForWriteBacksAsync();

        var staleDatabase = new CountingLoader<bool>(false);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(await a.Cache.IsTokenBlacklistedAsync(tokenId, staleDatabase.Load));
            Assert.True(await b.Cache.IsTokenBlacklistedAsync(tokenId, staleDatabase.Load));
        }

        Assert.Equal(0, staleDatabase.Calls);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(-60_000)]
    public async Task A_blacklisting_of_a_token_expiring_about_now_still_beats_a_slower_check_that_loaded_false(int expiresInMs)
    {
        // The check starts before the revocation and its loader answers "false" only after the 1 s that such a
        // blacklisting used to live: its compare-and-set must still lose.
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var a = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var b = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");
        var pausedFalse = new GatedLoader<bool>(false);

        var check = a.Cache.IsTokenBlacklistedAsync(tokenId, pausedFalse.Load).AsTask();
        await pausedFalse.Started.WaitAsync(TimeSpan.FromSeconds(10));
        await b.Cache.BlacklistTokenAsync(tokenId, DateTimeOffset.UtcNow.AddMilliseconds(expiresInMs));
        await Task.Delay(TimeSpan.FromMilliseconds(1600));
        pausedFalse.Release();
        Assert.False(await check);
        await a.WaitForWriteBacksAsync();

        var staleDatabase = new CountingLoader<bool>(false);
        Assert.True(await a.Cache.IsTokenBlacklistedAsync(tokenId, staleDatabase.Load));
        Assert.True(await b.Cache.IsTokenBlacklistedAsync(tokenId, staleDatabase.Load));
        Assert.Equal(0, staleDatabase.Calls);
    }

    [Fact]
    public async Task Blacklisting_on_one_instance_is_seen_by_the_next_check_on_another_even_over_a_cached_false()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var a = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var b = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");
        Assert.False(await b.Cache.IsTokenBlacklistedAsync(tokenId, new CountingLoader<bool>(false).Load));
        await b.WaitForWriteBacksAsync();

        await a.Cache.BlacklistTokenAsync(tokenId, null);

        Assert.True(await b.Cache.IsTokenBlacklistedAsync(tokenId, new CountingLoader<bool>(false).Load));
    }

    [Fact]
    public async Task Invalidation_on_one_instance_is_seen_by_the_next_read_on_another()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var a = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var b = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        foreach (var type in CacheType.All.Where(t => t.Nullable))
        {
            await b.Cache.GetUserContextAsync("warm", new CountingLoader<UserContext?>(Models.UserContext("warm", "v1", "editor")).Load);
            await type.GetAsync(b.Cache, "u1", new CountingLoader<object?>(type.Make("u1", "v1")).Load);
            await b.WaitForWriteBacksAsync();

            await type.InvalidateAsync(a.Cache, "u1");

            var v2 = new CountingLoader<object?>(type.Make("u1", "v2"));
            Same.Value(type.Make("u1", "v2"), await type.GetAsync(b.Cache, "u1", v2.Load));
            Assert.Equal(1, v2.Calls);
        }

        await a.Cache.InvalidateRolePermissionsAsync("editor");
        var reloaded = new CountingLoader<UserContext?>(Models.UserContext("warm", "v2", "editor"));
        await b.Cache.GetUserContextAsync("warm", reloaded.Load);
        Assert.Equal(1, reloaded.Calls);
    }

    [Fact]
    public async Task Blacklisting_drops_the_tokens_cached_payload()
    {
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, SharedRedisFixture.NewKeyPrefix());
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");
        await host.Cache.SetJwtPayloadAsync(Models.JwtPayload(tokenId));

        await host.Cache.BlacklistTokenAsync(tokenId, null);

        var loader = new CountingLoader<JwtPayload?>((JwtPayload?)null);
        Assert.Null(await host.Cache.GetJwtPayloadAsync(tokenId, loader.Load));
        Assert.Equal(1, loader.Calls);
    }

    [Fact]
    public async Task Payload_is_only_returned_for_the_exact_token_it_was_decoded_from()
    {
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, SharedRedisFixture.NewKeyPrefix());
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");
        const string genuine = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.genuine-signature";
        const string forged = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ4In0.forged-signature";
        var decodeGenuine = new CountingLoader<JwtPayload?>(Models.JwtPayload(tokenId, "genuine"));
        await host.Cache.GetJwtPayloadAsync(tokenId, genuine, decodeGenuine.Load);
        await host.WaitForWriteBacksAsync();
        Same.Value(Models.JwtPayload(tokenId, "genuine"), await host.Cache.GetJwtPayloadAsync(tokenId, genuine, decodeGenuine.Load));
        Assert.Equal(1, decodeGenuine.Calls);

        var rejectForged = new CountingLoader<JwtPayload?>((JwtPayload?)null);
        var forgedResult = await host.Cache.GetJwtPayloadAsync(tokenId, forged, rejectForged.Load);

        Assert.Null(forgedResult);
        Assert.Equal(1, rejectForged.Calls);
        Assert.Contains(host.Logs.Entries, e => e.Level == LogLevel.Warning && e.EventId.Id == Log.FingerprintMismatchId);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains("signature", StringComparison.Ordinal) || e.Message.Contains(tokenId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Payload_entry_never_outlives_the_token_and_an_expired_payload_is_not_cached()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();

        await host.Cache.GetJwtPayloadAsync("short", new CountingLoader<JwtPayload?>(Models.JwtPayload("short", lifetime: TimeSpan.FromSeconds(30))).Load);
        await host.Cache.GetJwtPayloadAsync("expired", new CountingLoader<JwtPayload?>(Models.JwtPayload("expired", lifetime: TimeSpan.FromSeconds(-5))).Load);
        await host.Cache.SetJwtPayloadAsync(Models.JwtPayload("expired-set", lifetime: TimeSpan.FromSeconds(-5)));
        await host.WaitForWriteBacksAsync();

        var ttl = await admin.KeyTimeToLiveAsync(prefix + "jwt_payload:short");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        Assert.False(await admin.KeyExistsAsync(prefix + "jwt_payload:expired"));
        var reload = new CountingLoader<JwtPayload?>((JwtPayload?)null);
        await host.Cache.GetJwtPayloadAsync("expired-set", reload.Load);
        Assert.Equal(1, reload.Calls);
    }
}
