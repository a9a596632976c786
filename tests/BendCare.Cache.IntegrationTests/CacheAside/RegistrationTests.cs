using BendCare.Cache.Connection;
using BendCare.Cache.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace BendCare.Cache.IntegrationTests.CacheAside;

[Collection(SharedRedisFixture.CollectionName)]
public sealed class RegistrationTests(SharedRedisFixture redis)
{
    [Fact]
    public async Task Registering_twice_opens_one_multiplexer()
    {
        string clientName = "bc-twice-" + Guid.NewGuid().ToString("N")[..8];
        var services = new ServiceCollection();
        services.AddBendCareRedisCache(o =>
        {
            o.Host = redis.Server.Host;
            o.Port = redis.Server.Port;
            o.ConfigureConnection = c => c.ClientName = clientName;
        });
        services.AddBendCareRedisCache();
        await using var provider = services.BuildServiceProvider();

        var first = provider.GetRequiredService<IRbacCache>();
        var second = provider.GetRequiredService<IRbacCache>();
        var concrete = provider.GetRequiredService<RedisRbacCache>();
        var connection = provider.GetRequiredService<RedisConnection>();
        await connection.FirstConnected.WaitAsync(TimeSpan.FromSeconds(15));
        await first.GetUserBasicAsync("u1", _ => ValueTask.FromResult<UserBasicInfo?>(null));

        Assert.Same(first, second);
        Assert.Same(first, concrete);
        Assert.Equal(1, connection.MultiplexersCreated);
        await using var admin = await redis.ConnectAdminAsync();
        var clients = await admin.GetServer(admin.GetEndPoints()[0]).ClientListAsync();
        int named = clients.Count(c => c.Name == clientName);
        Assert.InRange(named, 1, 2); // one multiplexer: an interactive connection, perhaps a subscription one
    }
}
