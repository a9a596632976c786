using BendCare.Cache.CacheAside;
using BendCare.Cache.Connection;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace BendCare.Cache.IntegrationTests.CacheAside;

/// <summary>
/// Values within a millisecond of their expiry: a lifetime under 1 ms would be sent as <c>PX 0</c>, which the server
/// refuses; such a value is simply not cached, and nothing counts as a Redis failure. The clock is a fake one so the
/// sub-millisecond lifetime is exact.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class ExpiryEdgeTests(SharedRedisFixture redis)
{
    [Fact]
    public async Task A_jwt_payload_expiring_within_a_millisecond_is_neither_cached_nor_a_redis_failure()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        string prefix = SharedRedisFixture.NewKeyPrefix();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddBendCareRedisCache(o =>
        {
            o.Host = redis.Server.Host;
            o.Port = redis.Server.Port;
            o.KeyPrefix = prefix;
            o.OperationTimeout = TimeSpan.FromSeconds(5);
        });
        await using var provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredService<IRbacCache>();
        await UntilCachingAsync(cache, clock);
        var almostExpired = Models.JwtPayload("jti-edge", lifetime: TimeSpan.Zero) with { ExpiresAt = clock.GetUtcNow() + TimeSpan.FromTicks(4_000) };

        await cache.SetJwtPayloadAsync(almostExpired);
        var loaded = await cache.GetJwtPayloadAsync("jti-edge-2", _ => ValueTask.FromResult<JwtPayload?>(almostExpired with { TokenId = "jti-edge-2" }));
        Assert.Equal("jti-edge-2", loaded!.TokenId);
        var engine = provider.GetRequiredService<CacheAsideEngine>();
        while (engine.WriteBacksInFlight != 0)
        {
            await Task.Delay(5);
        }

        // Read after the user-visible calls: nothing failed, nothing is waiting for replay, nothing was cached.
        var connection = provider.GetRequiredService<RedisConnection>();
        Assert.Null(connection.LastError);
        Assert.Equal(0, engine.RememberedInvalidations);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        byte[]? stored = await admin.StringGetAsync(prefix + "jwt_payload:jti-edge");
        Assert.True(stored is null || stored[2] == (byte)'T');
        Assert.False(await admin.KeyExistsAsync(prefix + "jwt_payload:jti-edge-2"));
    }

    /// <summary>Waits, as a user would see it, until a value set is served from the cache.</summary>
    private static async Task UntilCachingAsync(IRbacCache cache, FakeTimeProvider clock)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            await cache.SetUserBasicAsync(Models.UserBasic("ready"));
            int calls = 0;
            await cache.GetUserBasicAsync("ready", _ =>
            {
                calls++;
                return ValueTask.FromResult<UserBasicInfo?>(null);
            });
            if (calls == 0)
            {
                return;
            }

            // The connection's recovery timer runs on the fake clock: let it tick.
            clock.Advance(TimeSpan.FromMilliseconds(300));
            await Task.Delay(20);
        }

        Assert.Fail("the cache never served a value it had set");
    }
}
