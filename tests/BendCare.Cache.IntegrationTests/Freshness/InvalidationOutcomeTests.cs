using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Freshness;

/// <summary>
/// An invalidation's token only ends the caller's wait: the database has changed, so the write is applied or
/// remembered whatever the token does. What became of it is counted (<c>bendcare.cache.invalidations</c>, by
/// outcome) and logged, also after the cache is disposed.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class InvalidationOutcomeTests(SharedRedisFixture redis)
{
    [Fact]
    public async Task Cancelling_an_invalidation_ends_the_wait_but_the_tombstone_still_lands()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, prefix, o => o.OperationTimeout = TimeSpan.FromSeconds(5));
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        await host.Cache.SetUserBasicAsync(Models.UserBasic("u1"));
        proxy.Delay(TimeSpan.FromMilliseconds(300));

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await host.Cache.InvalidateUserBasicAsync("u1", cts.Token));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        byte[]? stored = await admin.StringGetAsync(prefix + "user_basic:u1");
        while (stored is not null && stored[2] != (byte)'T' && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            stored = await admin.StringGetAsync(prefix + "user_basic:u1");
        }

        Assert.Equal((byte)'T', stored![2]);
    }

    [Fact]
    public async Task An_already_cancelled_token_still_applies_the_invalidation()
    {
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var host = await CacheHost.StartAsync(redis.Server.Host, redis.Server.Port, prefix);
        await host.Cache.SetRolePermissionsAsync(Models.RolePermissions("r1", "v1"));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        try
        {
            await host.Cache.InvalidateRolePermissionsAsync("r1", cts.Token);
        }
        catch (OperationCanceledException)
        {
            // Allowed: the token ended the wait.
        }

        var v2 = new CountingLoader<RolePermissions?>(Models.RolePermissions("r1", "v2"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (v2.Calls == 0 && DateTime.UtcNow < deadline)
        {
            await host.Cache.GetRolePermissionsAsync("r1", v2.Load);
            await Task.Delay(10);
        }

        Assert.Equal(1, v2.Calls);
    }

    [Fact]
    public async Task Each_invalidation_is_counted_and_logged_as_applied_remembered_or_dropped()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        var outcomes = new ConcurrentQueue<string>();
        Meter? ours = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "BendCare.Cache" && instrument.Name == "bendcare.cache.invalidations")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            // Other tests run in parallel with meters of the same name: count this host's only.
            if (!ReferenceEquals(instrument.Meter, Volatile.Read(ref ours)))
            {
                return;
            }

            foreach (var tag in tags)
            {
                if (tag.Key == "outcome")
                {
                    outcomes.Enqueue((string)tag.Value!);
                }
            }
        });
        listener.Start();
        var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, SharedRedisFixture.NewKeyPrefix(), o => o.MaxPendingInvalidations = 1);
        Volatile.Write(ref ours, host.Services.GetRequiredService<Diagnostics.CacheMetrics>().Meter);

        await host.Cache.InvalidateUserBasicAsync("applied");
        proxy.Stop();
        await host.Cache.InvalidateUserBasicAsync("remembered");
        await host.Cache.InvalidateUserBasicAsync("dropped");
        Assert.Equal(["applied", "remembered", "dropped"], outcomes.ToArray());

        // After disposal (the meter is gone with the container) a dropped invalidation is still logged.
        var logs = host.Logs;
        await host.DisposeAsync();
        await host.Cache.InvalidateUserBasicAsync("after-disposal");
        proxy.Start();

        Assert.Contains(logs.Entries, e => e.EventId.Id == Log.InvalidationAppliedId && e.Message.Contains("applied", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.EventId.Id == Log.InvalidationDeferredId && e.Message.Contains("remembered", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.EventId.Id == Log.InvalidationsLostAtDisposalId && e.Level == LogLevel.Error);
        Assert.Contains(logs.Entries, e => e.EventId.Id == Log.InvalidationDroppedId && e.Level == LogLevel.Error && e.Message.Contains("dropped", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.EventId.Id == Log.InvalidationDroppedId && e.Level == LogLevel.Error && e.Message.Contains("after-disposal", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Disposing_replays_remembered_invalidations_when_redis_is_back()
    {
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        proxy.Start();
        string prefix = SharedRedisFixture.NewKeyPrefix();
        await using var adminConnection = await redis.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        var host = await CacheHost.StartAsync("127.0.0.1", proxy.Port, prefix);
        await host.Cache.SetUserBasicAsync(Models.UserBasic("u1"));
        proxy.Stop();
        await host.Cache.InvalidateUserBasicAsync("u1");
        Assert.Equal(1, host.Engine.RememberedInvalidations);
        proxy.Start();

        await host.DisposeAsync();

        byte[]? stored = await admin.StringGetAsync(prefix + "user_basic:u1");
        Assert.Equal((byte)'T', stored![2]);
    }
}
