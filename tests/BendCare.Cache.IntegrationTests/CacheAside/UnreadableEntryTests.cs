using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using StackExchange.Redis;
using Xunit;

namespace BendCare.Cache.IntegrationTests.CacheAside;

/// <summary>Whatever is at a key — garbage, a future format, another Redis type — is a miss that heals the key.</summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class UnreadableEntryTests(SharedRedisFixture redis)
{
    public static TheoryData<string, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var type in CacheType.All)
            {
                data.Add(type.Name, "corrupt");
                data.Add(type.Name, "future");
                data.Add(type.Name, "list");
                data.Add(type.Name, "bad-json");
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Unreadable_entry_returns_the_loader_value_and_heals_the_key(string typeName, string damage)
    {
        var type = CacheType.Named(typeName);
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        string id = "id-" + Guid.NewGuid().ToString("N");
        string key = type.Key(prefix, id);
        switch (damage)
        {
            case "corrupt":
                await admin.StringSetAsync(key, new byte[] { 0xde, 0xad, 0xbe, 0xef });
                break;
            case "future":
                await admin.StringSetAsync(key, new byte[] { 0xBC, 99, (byte)'V', 0, (byte)'{', (byte)'}' });
                break;
            case "bad-json":
                await admin.StringSetAsync(key, new byte[] { 0xBC, 1, (byte)'V', 0, (byte)'{', (byte)'x' });
                break;
            default:
                await admin.ListRightPushAsync(key, ["a", "b"]);
                break;
        }

        var loader = new CountingLoader<object?>(type.Make(id));

        var value = await type.GetAsync(host.Cache, id, loader.Load);
        await host.WaitForWriteBacksAsync();
        var again = await type.GetAsync(host.Cache, id, loader.Load);

        Same.Value(type.Make(id), value);
        Same.Value(type.Make(id), again);
        Assert.Equal(1, loader.Calls);
        Assert.Equal(RedisType.String, await admin.KeyTypeAsync(key));
        Assert.Contains(host.Logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning);
    }
}
