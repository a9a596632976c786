using BendCare.Cache.Testing;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// No <c>REDIS_HOST</c>: the cache is a pass-through to the loaders. How concurrent callers share a load is in
/// <see cref="SingleFlightTests"/>.
/// </summary>
public sealed class DisabledModeTests : DisabledCacheTest
{
    [Fact]
    public void No_REDIS_HOST_means_the_cache_is_disabled()
    {
        var options = Provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value;

        Assert.False(options.IsEnabled);
        Assert.Null(options.Host);
    }

    /// <summary>The cache types whose getters return a value object (the blacklist answers a bool, below).</summary>
    public static TheoryData<string> TypesWithValues => [.. CacheType.All.Where(static t => t.Nullable).Select(static t => t.Name)];

    [Theory]
    [MemberData(nameof(TypesWithValues))]
    public async Task Getter_calls_the_loader_every_time_and_returns_its_value(string typeName)
    {
        var type = CacheType.Named(typeName);
        var value = type.Make("id-1");
        int calls = 0;

        for (int i = 0; i < 3; i++)
        {
            Assert.Same(value, await type.GetAsync(Cache, "id-1", _ =>
            {
                calls++;
                return ValueTask.FromResult<object?>(value);
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
    public void Disposing_the_service_provider_synchronously_after_resolving_the_cache_does_not_throw()
    {
        // Regression: ServiceProvider.Dispose() threw because the connection was only IAsyncDisposable. Console apps
        // and `using var provider` dispose synchronously.
        var provider = TestServices.DisabledProvider();
        provider.GetRequiredService<IRbacCache>();

        provider.Dispose();
    }
}
