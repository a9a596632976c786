using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Outage;

/// <summary>The core promise: with the server gone, every call still answers from the loader and nothing throws.</summary>
public sealed class ServerDownTests
{
    [Fact]
    public async Task Every_member_works_from_the_loader_when_the_server_process_is_killed()
    {
        await using var server = await RedisServer.StartAsync();
        Assert.True(server.CanRestart, $"this test needs a server it can kill; got {server}");
        await using var host = await CacheHost.StartAsync(server.Host, server.Port, SharedRedisFixture.NewKeyPrefix());
        foreach (var type in CacheType.All)
        {
            await type.GetAsync(host.Cache, "warm", new CountingLoader<object?>(type.Make("warm")).Load);
        }

        await host.WaitForWriteBacksAsync();

        await server.KillAsync();

        await ExerciseEverythingAsync(host);
    }

    [Fact]
    public async Task Every_member_works_from_the_loader_when_the_server_never_started()
    {
        int port = RedisServer.GetFreePort();
        await using var host = await CacheHost.StartAsync("127.0.0.1", port, SharedRedisFixture.NewKeyPrefix(), waitForConnection: false);

        await ExerciseEverythingAsync(host);

        Assert.False(host.Connection.IsUsable);
    }

    [Fact]
    public async Task Cache_disabled_without_a_host_calls_only_the_loader_and_never_connects()
    {
        await using var host = await CacheHost.StartAsync(host: null!, port: 6379, keyPrefix: "", waitForConnection: false);

        await ExerciseEverythingAsync(host);

        Assert.False(host.Connection.IsEnabled);
        Assert.Null(host.Connection.Multiplexer);
        Assert.Equal(0, host.Connection.MultiplexersCreated);
        Assert.Single(host.Logs.Entries, e => e.EventId.Id == Log.CacheDisabledId);
    }

    /// <summary>Runs every public member twice with fresh loader values: answers must be the loader's, nothing may throw.</summary>
    private static async Task ExerciseEverythingAsync(CacheHost host)
    {
        for (int round = 0; round < 2; round++)
        {
            foreach (var type in CacheType.All)
            {
                string version = "fresh" + round;
                var loader = new CountingLoader<object?>(type.Make("warm", version));
                var value = await type.GetAsync(host.Cache, "warm", loader.Load);
                Same.Value(type.Make("warm", version), value);
                Assert.Equal(1, loader.Calls);
                await type.SetAsync(host.Cache, "warm", version);
                await type.InvalidateAsync(host.Cache, "warm");
            }

            await host.Cache.InvalidateUserContextsAsync(["warm", "other"]);
            await host.Cache.SetJwtPayloadAsync(Models.JwtPayload("warm"), "raw.token.value");
            Same.Value(
                Models.JwtPayload("warm", "raw"),
                await host.Cache.GetJwtPayloadAsync("warm", "raw.token.value", _ => ValueTask.FromResult<JwtPayload?>(Models.JwtPayload("warm", "raw"))));
        }
    }
}
