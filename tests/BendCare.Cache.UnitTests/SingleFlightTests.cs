using BendCare.Cache.UnitTests.Support;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// In-process single-flight: concurrent callers of one key share one loader call, callers of different keys, types
/// or raw tokens never do, and the shared load is cancelled only when every caller has cancelled.
/// </summary>
public sealed class SingleFlightTests : DisabledCacheTest
{
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

    [Fact]
    public async Task Concurrent_callers_share_a_loader_that_fails_with_its_own_OperationCanceledException()
    {
        // Regression: a loader's own OperationCanceledException made each follower run the loader again, one after
        // another. A loader can throw it for its own reasons (HttpClient.Timeout, a command timeout) while no caller
        // cancelled. That is a loader exception: it must reach every waiting caller.
        var cache = Cache;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        async ValueTask<UserContext?> Loader(CancellationToken _)
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            throw new TaskCanceledException("The operation was canceled because the database did not answer in time.");
        }

        var callers = Enumerable.Range(0, 10).Select(_ => cache.GetUserContextAsync("user-1", Loader).AsTask()).ToArray();
        Assert.Equal(1, Volatile.Read(ref calls));
        gate.SetResult();

        foreach (var caller in callers)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => caller);
        }

        Assert.Equal(1, calls);
    }
}
