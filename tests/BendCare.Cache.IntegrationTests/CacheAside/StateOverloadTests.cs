using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Xunit;

namespace BendCare.Cache.IntegrationTests.CacheAside;

/// <summary>The overloads that pass state to a static loader behave exactly like the closure ones.</summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class StateOverloadTests(SharedRedisFixture redis)
{
    [Fact]
    public async Task State_overloads_pass_their_state_on_a_miss_and_skip_the_loader_on_a_hit()
    {
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, SharedRedisFixture.NewKeyPrefix());
        var database = new FakeDatabase();

        for (int round = 0; round < 2; round++)
        {
            Same.Value(Models.UserContext("u1"), await host.Cache.GetUserContextAsync("u1", database, static (db, _) => db.Load(Models.UserContext("u1"))));
            Same.Value(Models.RolePermissions("r1"), await host.Cache.GetRolePermissionsAsync("r1", database, static (db, _) => db.Load(Models.RolePermissions("r1"))));
            Same.Value(Models.UserBasic("u1"), await host.Cache.GetUserBasicAsync("u1", database, static (db, _) => db.Load(Models.UserBasic("u1"))));
            Assert.False(await host.Cache.IsTokenBlacklistedAsync("t1", database, static (db, _) => db.LoadFlag(false)));
            Same.Value(Models.JwtPayload("t1"), await host.Cache.GetJwtPayloadAsync("t1", "raw.token", database, static (db, _) => db.Load(Models.JwtPayload("t1"))));
            await host.WaitForWriteBacksAsync();
        }

        Assert.Equal(5, database.Calls);
    }

    private sealed class FakeDatabase
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask<T?> Load<T>(T value)
        {
            Interlocked.Increment(ref _calls);
            return ValueTask.FromResult<T?>(value);
        }

        public ValueTask<bool> LoadFlag(bool value)
        {
            Interlocked.Increment(ref _calls);
            return ValueTask.FromResult(value);
        }
    }
}
