using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.UnitTests;

/// <summary>No <c>REDIS_HOST</c>: the cache is a pass-through to the loaders, with in-process single-flight.</summary>
public sealed class DisabledModeTests : IAsyncDisposable
{
    private const string RawToken = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ0b2tlbi0xIn0.c2lnbmF0dXJl";

    private readonly ServiceProvider _provider = TestServices.DisabledProvider();

    private IRbacCache Cache => _provider.GetRequiredService<IRbacCache>();

    [Fact]
    public void No_REDIS_HOST_means_the_cache_is_disabled()
    {
        var options = _provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value;

        Assert.False(options.IsEnabled);
        Assert.Null(options.Host);
    }

    [Fact]
    public async Task GetUserContextAsync_calls_the_loader_every_time_and_returns_its_value()
    {
        var value = Samples.UserContext();
        int calls = 0;

        for (int i = 0; i < 3; i++)
        {
            var result = await Cache.GetUserContextAsync("user-1", _ =>
            {
                calls++;
                return ValueTask.FromResult<UserContext?>(value);
            });
            Assert.Same(value, result);
        }

        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task GetRolePermissionsAsync_calls_the_loader_every_time_and_returns_its_value()
    {
        var value = Samples.RolePermissions();
        int calls = 0;

        for (int i = 0; i < 3; i++)
        {
            Assert.Same(value, await Cache.GetRolePermissionsAsync("role-1", _ =>
            {
                calls++;
                return ValueTask.FromResult<RolePermissions?>(value);
            }));
        }

        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task GetUserBasicAsync_calls_the_loader_every_time_and_returns_its_value()
    {
        var value = Samples.UserBasic();
        int calls = 0;

        for (int i = 0; i < 3; i++)
        {
            Assert.Same(value, await Cache.GetUserBasicAsync("user-1", _ =>
            {
                calls++;
                return ValueTask.FromResult<UserBasicInfo?>(value);
            }));
        }

        Assert.Equal(3, calls);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task IsTokenBlacklistedAsync_calls_the_loader_every_time_and_returns_its_answer(bool blacklisted)
    {
        int calls = 0;

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(blacklisted, await Cache.IsTokenBlacklistedAsync("token-1", _ =>
            {
                calls++;
                return ValueTask.FromResult(blacklisted);
            }));
        }

        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task GetJwtPayloadAsync_by_id_calls_the_loader_every_time_and_returns_its_value()
    {
        var value = Samples.JwtPayload();
        int calls = 0;

        for (int i = 0; i < 3; i++)
        {
            Assert.Same(value, await Cache.GetJwtPayloadAsync("token-1", _ =>
            {
                calls++;
                return ValueTask.FromResult<JwtPayload?>(value);
            }));
        }

        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task GetJwtPayloadAsync_by_raw_token_calls_the_loader_every_time_and_returns_its_value()
    {
        var value = Samples.JwtPayload();
        int calls = 0;

        for (int i = 0; i < 3; i++)
        {
            Assert.Same(value, await Cache.GetJwtPayloadAsync("token-1", RawToken, _ =>
            {
                calls++;
                return ValueTask.FromResult<JwtPayload?>(value);
            }));
        }

        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Null_loader_result_is_returned_and_not_cached()
    {
        int calls = 0;
        ValueTask<UserContext?> Loader(CancellationToken _)
        {
            calls++;
            return ValueTask.FromResult<UserContext?>(null);
        }

        Assert.Null(await Cache.GetUserContextAsync("user-1", Loader));
        Assert.Null(await Cache.GetUserContextAsync("user-1", Loader));

        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Loader_token_is_cancelled_when_its_only_caller_cancels()
    {
        using var cts = new CancellationTokenSource();
        var entered = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        async ValueTask<UserContext?> Loader(CancellationToken ct)
        {
            entered.SetResult(ct);
            await Task.Delay(Timeout.Infinite, ct);
            return null;
        }

        var call = Cache.GetUserContextAsync("user-1", Loader, cts.Token).AsTask();
        var seen = await entered.Task;
        Assert.False(seen.IsCancellationRequested);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.True(seen.IsCancellationRequested);
    }

    [Fact]
    public async Task Already_cancelled_token_throws_without_calling_the_loader()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        int calls = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await Cache.GetUserContextAsync(
            "user-1",
            _ =>
            {
                calls++;
                return ValueTask.FromResult<UserContext?>(null);
            },
            cts.Token));

        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Setters_and_invalidations_complete_without_Redis()
    {
        var cache = Cache;

        await cache.SetUserContextAsync(Samples.UserContext());
        await cache.InvalidateUserContextAsync("user-1");
        await cache.InvalidateUserContextsAsync(["user-1", "user-2", "user-3"]);
        await cache.InvalidateUserContextsAsync([]);
        await cache.SetRolePermissionsAsync(Samples.RolePermissions());
        await cache.InvalidateRolePermissionsAsync("role-1");
        await cache.SetUserBasicAsync(Samples.UserBasic());
        await cache.InvalidateUserBasicAsync("user-1");
        await cache.BlacklistTokenAsync("token-1", DateTimeOffset.UtcNow.AddMinutes(10));
        await cache.BlacklistTokenAsync("token-2", null);
        await cache.BlacklistTokenAsync("token-3", DateTimeOffset.UtcNow.AddMinutes(-10));
        await cache.SetJwtPayloadAsync(Samples.JwtPayload());
        await cache.SetJwtPayloadAsync(Samples.JwtPayload(), RawToken);
        await cache.SetJwtPayloadAsync(Samples.JwtPayload(expiresAt: DateTimeOffset.UtcNow.AddMinutes(-1)));
        await cache.InvalidateJwtPayloadAsync("token-1");
    }

    [Fact]
    public async Task A_set_value_is_not_served_without_Redis_the_getter_still_calls_the_loader()
    {
        var stored = Samples.UserContext();
        var loaded = Samples.UserContext() with { Permissions = ["from-the-database"] };
        await Cache.SetUserContextAsync(stored);

        var result = await Cache.GetUserContextAsync("user-1", _ => ValueTask.FromResult<UserContext?>(loaded));

        Assert.Same(loaded, result);
    }

    [Fact]
    public async Task Blacklisting_without_Redis_does_not_answer_for_the_database()
    {
        await Cache.BlacklistTokenAsync("token-1", null);

        Assert.False(await Cache.IsTokenBlacklistedAsync("token-1", _ => ValueTask.FromResult(false)));
    }

    [Fact]
    public async Task Loader_exception_propagates_unchanged()
    {
        var thrown = new InvalidOperationException("database down");

        var caught = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await Cache.GetUserContextAsync("user-1", _ => throw thrown));

        Assert.Same(thrown, caught);
    }

    [Fact]
    public async Task Loader_exception_from_an_async_loader_propagates_unchanged()
    {
        var thrown = new TimeoutException("query timed out");

        var caught = await Assert.ThrowsAsync<TimeoutException>(async () =>
            await Cache.GetRolePermissionsAsync("role-1", async _ =>
            {
                await Task.Yield();
                throw thrown;
            }));

        Assert.Same(thrown, caught);
    }

    [Fact]
    public async Task Loader_exception_propagates_unchanged_from_IsTokenBlacklistedAsync()
    {
        var thrown = new InvalidOperationException("database down");

        var caught = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await Cache.IsTokenBlacklistedAsync("token-1", _ => throw thrown));

        Assert.Same(thrown, caught);
    }

    [Fact]
    public async Task A_failed_load_is_not_remembered_the_next_call_loads_again()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await Cache.GetUserContextAsync("user-1", _ => throw new InvalidOperationException()));

        var value = Samples.UserContext();
        Assert.Same(value, await Cache.GetUserContextAsync("user-1", _ => ValueTask.FromResult<UserContext?>(value)));
    }

    [Fact]
    public async Task Fifty_concurrent_callers_on_one_key_share_one_loader_call()
    {
        var gate = new TaskCompletionSource<UserContext?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var value = Samples.UserContext();
        int calls = 0;
        async ValueTask<UserContext?> Loader(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            return await gate.Task;
        }

        // Every call is started (and parked on the gate) before the loader is allowed to finish.
        var callers = Enumerable.Range(0, 50).Select(_ => Cache.GetUserContextAsync("user-1", Loader).AsTask()).ToArray();
        Assert.Equal(1, Volatile.Read(ref calls));
        gate.SetResult(value);
        var results = await Task.WhenAll(callers);

        Assert.Equal(1, calls);
        Assert.All(results, r => Assert.Same(value, r));
    }

    [Fact]
    public async Task Concurrent_callers_sharing_a_failed_load_all_see_the_same_exception_instance()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thrown = new InvalidOperationException("database down");
        int calls = 0;
        async ValueTask<RolePermissions?> Loader(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            throw thrown;
        }

        var callers = Enumerable.Range(0, 10).Select(_ => Cache.GetRolePermissionsAsync("role-1", Loader).AsTask()).ToArray();
        gate.SetResult();

        foreach (var caller in callers)
        {
            Assert.Same(thrown, await Assert.ThrowsAsync<InvalidOperationException>(() => caller));
        }

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Concurrent_callers_on_different_keys_do_not_share_a_loader_call()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        async ValueTask<UserContext?> Loader(string id)
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            return Samples.UserContext(id);
        }

        var first = Cache.GetUserContextAsync("user-1", _ => Loader("user-1")).AsTask();
        var second = Cache.GetUserContextAsync("user-2", _ => Loader("user-2")).AsTask();
        gate.SetResult();

        Assert.Equal("user-1", (await first)!.UserId);
        Assert.Equal("user-2", (await second)!.UserId);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Concurrent_callers_for_the_same_id_of_different_types_do_not_share_a_loader_call()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        var context = Samples.UserContext();
        var basic = Samples.UserBasic();

        var first = Cache.GetUserContextAsync("user-1", async _ =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            return context;
        }).AsTask();
        var second = Cache.GetUserBasicAsync("user-1", async _ =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            return basic;
        }).AsTask();
        gate.SetResult();

        Assert.Same(context, await first);
        Assert.Same(basic, await second);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Concurrent_jwt_callers_with_different_raw_tokens_for_one_id_never_share_a_payload()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        var genuine = Samples.JwtPayload() with { Subject = "genuine" };
        var forged = Samples.JwtPayload() with { Subject = "forged" };

        var first = Cache.GetJwtPayloadAsync("token-1", "header.body.genuine-signature", async _ =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            return genuine;
        }).AsTask();
        var second = Cache.GetJwtPayloadAsync("token-1", "header.body.forged-signature", async _ =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            return forged;
        }).AsTask();
        gate.SetResult();

        Assert.Same(genuine, await first);
        Assert.Same(forged, await second);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Concurrent_jwt_callers_with_the_same_raw_token_share_one_loader_call()
    {
        var gate = new TaskCompletionSource<JwtPayload?>(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        async ValueTask<JwtPayload?> Loader(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            return await gate.Task;
        }

        var callers = Enumerable.Range(0, 10).Select(_ => Cache.GetJwtPayloadAsync("token-1", RawToken, Loader).AsTask()).ToArray();
        var value = Samples.JwtPayload();
        gate.SetResult(value);

        Assert.All(await Task.WhenAll(callers), r => Assert.Same(value, r));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_caller_arriving_after_the_shared_load_finished_loads_again()
    {
        int calls = 0;
        ValueTask<UserContext?> Loader(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult<UserContext?>(Samples.UserContext());
        }

        await Cache.GetUserContextAsync("user-1", Loader);
        await Cache.GetUserContextAsync("user-1", Loader);

        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Invalidation_during_a_shared_load_makes_later_callers_load_afresh()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        async ValueTask<UserContext?> Loader(CancellationToken _)
        {
            int call = Interlocked.Increment(ref calls);
            await gate.Task;
            return Samples.UserContext() with { Permissions = [$"load-{call}"] };
        }

        var before = Cache.GetUserContextAsync("user-1", Loader).AsTask();
        await Cache.InvalidateUserContextAsync("user-1");
        var after = Cache.GetUserContextAsync("user-1", Loader).AsTask();
        gate.SetResult();

        Assert.Equal(["load-1"], (await before)!.Permissions);
        Assert.Equal(["load-2"], (await after)!.Permissions);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task A_follower_whose_own_token_is_cancelled_stops_waiting_while_the_leader_completes()
    {
        var gate = new TaskCompletionSource<UserContext?>(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        async ValueTask<UserContext?> Loader(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            return await gate.Task;
        }

        using var followerCts = new CancellationTokenSource();
        var leader = Cache.GetUserContextAsync("user-1", Loader).AsTask();
        var follower = Cache.GetUserContextAsync("user-1", Loader, followerCts.Token).AsTask();
        await followerCts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => follower);
        var value = Samples.UserContext();
        gate.SetResult(value);
        Assert.Same(value, await leader);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task When_the_leaders_caller_cancels_the_follower_still_gets_the_shared_load()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        var value = Samples.UserContext();
        CancellationToken loaderToken = default;
        async ValueTask<UserContext?> Loader(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            loaderToken = ct;

            // A database driver that throws its own exception when cancelled, not OperationCanceledException.
            await gate.Task.WaitAsync(ct).ContinueWith(t => t.IsCanceled ? throw new InvalidOperationException("driver: query cancelled") : t, TaskScheduler.Default).Unwrap();
            return value;
        }

        using var leaderCts = new CancellationTokenSource();
        var leader = Cache.GetUserContextAsync("user-1", Loader, leaderCts.Token).AsTask();
        var follower = Cache.GetUserContextAsync("user-1", Loader).AsTask();
        await leaderCts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);
        Assert.False(loaderToken.IsCancellationRequested);
        gate.SetResult();
        Assert.Same(value, await follower);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task The_shared_load_is_cancelled_only_when_every_caller_has_cancelled()
    {
        var entered = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        async ValueTask<UserContext?> Loader(CancellationToken ct)
        {
            entered.TrySetResult(ct);
            await Task.Delay(Timeout.Infinite, ct);
            return null;
        }

        var callers = Enumerable.Range(0, 10).Select(_ => new CancellationTokenSource()).ToArray();
        var calls = callers.Select(c => Cache.GetUserContextAsync("user-1", Loader, c.Token).AsTask()).ToArray();
        var loaderToken = await entered.Task;
        for (int i = 0; i < callers.Length - 1; i++)
        {
            await callers[i].CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => calls[i]);
            Assert.False(loaderToken.IsCancellationRequested);
        }

        await callers[^1].CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => calls[^1]);
        Assert.True(loaderToken.IsCancellationRequested);
        foreach (var c in callers)
        {
            c.Dispose();
        }
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
