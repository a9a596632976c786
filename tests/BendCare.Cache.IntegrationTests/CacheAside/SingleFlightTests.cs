using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Xunit;

namespace BendCare.Cache.IntegrationTests.CacheAside;

/// <summary>
/// Concurrent misses share one loader call only when sharing cannot hand a caller a value older than an invalidation
/// it could see; and one caller giving up never takes the shared load away from the others.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class SingleFlightTests(SharedRedisFixture redis)
{
    [Fact]
    public async Task When_the_first_caller_cancels_the_others_get_the_shared_value_and_its_loader_is_not_cancelled()
    {
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, SharedRedisFixture.NewKeyPrefix());
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        async ValueTask<UserBasicInfo?> Loader(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            entered.TrySetResult(ct);

            // Like a database driver that reports cancellation with its own exception type.
            try
            {
                await gate.Task.WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                throw new InvalidOperationException("driver: the query was cancelled");
            }

            return Models.UserBasic("u1", "v1");
        }

        using var leaderCts = new CancellationTokenSource();
        var leader = host.Cache.GetUserBasicAsync("u1", Loader, leaderCts.Token).AsTask();
        var loaderToken = await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var followers = Enumerable.Range(0, 20).Select(_ => host.Cache.GetUserBasicAsync("u1", Loader).AsTask()).ToArray();
        using var oneMoreCts = new CancellationTokenSource();
        var oneMore = host.Cache.GetUserBasicAsync("u1", Loader, oneMoreCts.Token).AsTask();

        // Ordering the race, not asserting on internals: every caller has joined the flight before the cancellations.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (host.Engine.FollowersOf(host.KeyPrefix + "user_basic:u1") < followers.Length + 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        await leaderCts.CancelAsync();
        await oneMoreCts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => oneMore);
        Assert.False(loaderToken.IsCancellationRequested);
        gate.SetResult();

        foreach (var follower in followers)
        {
            Same.Value(Models.UserBasic("u1", "v1"), await follower);
        }

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Callers_that_cannot_read_redis_never_share_a_load_so_one_arriving_after_an_invalidation_elsewhere_loads_afresh()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var cutOff = await CacheHost.StartAsync("127.0.0.1", proxy.Port, prefix, o => o.OperationTimeout = TimeSpan.FromMilliseconds(200));
        await using var other = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        proxy.Blackhole();
        for (int i = 0; i < 5; i++)
        {
            await cutOff.Cache.GetUserBasicAsync("warm-" + i, static _ => ValueTask.FromResult<UserBasicInfo?>(null));
        }

        var slowV1 = new GatedLoader<UserBasicInfo?>(Models.UserBasic("u1", "v1"));
        var first = cutOff.Cache.GetUserBasicAsync("u1", slowV1.Load).AsTask();
        await slowV1.Started.WaitAsync(TimeSpan.FromSeconds(10));

        // The database changed and another instance's invalidation returned; this instance cannot see it.
        await other.Cache.InvalidateUserBasicAsync("u1");
        var v2 = new CountingLoader<UserBasicInfo?>(Models.UserBasic("u1", "v2"));
        var second = cutOff.Cache.GetUserBasicAsync("u1", v2.Load).AsTask();
        await Task.WhenAny(second, Task.Delay(TimeSpan.FromSeconds(2)));
        slowV1.Release();

        Same.Value(Models.UserBasic("u1", "v2"), await second);
        Assert.Equal(1, v2.Calls);
        Same.Value(Models.UserBasic("u1", "v1"), await first);
        proxy.Pass();
    }
}
