using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Observability;

/// <summary>
/// The spans a service sees once it listens to <see cref="BendCareCacheDiagnostics.ActivitySourceName"/> and
/// <see cref="BendCareCacheDiagnostics.RedisActivitySourceName"/>: one per operation under the caller's span, the
/// loader's own spans nested in it, one client span per Redis command sent, and outcomes that say what happened.
/// Every host is used at once, the way a service uses a fresh instance.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class TracingTests(SharedRedisFixture redis, ITestOutputHelper output)
{
    private const string Outcome = "bendcare.cache.outcome";

    [Fact]
    public async Task A_miss_nests_the_database_span_under_the_get_span_and_a_hit_sends_one_GET_and_runs_no_loader()
    {
        using var spans = new SpanRecorder();
        await using var host = await StartAsync(redis.Server.Port);
        string userId = "u-" + Guid.NewGuid().ToString("N");

        var missTrace = await AsRequestAsync(() => host.Cache.GetUserContextAsync(userId, Database(Models.UserContext(userId, "v1", "editor"))));
        var miss = Single(spans, missTrace, "get user_context");
        var writeBack = await spans.WaitForAsync(a => a.TraceId == missTrace && a.DisplayName == "write_back user_context", "write_back user_context");
        var hitTrace = await AsRequestAsync(() => host.Cache.GetUserContextAsync(userId, Database(Models.UserContext(userId, "v2", "editor"))));
        var hit = Single(spans, hitTrace, "get user_context");

        Assert.Equal(Single(spans, missTrace, "request").SpanId, miss.ParentSpanId);
        Assert.Equal(ActivityKind.Internal, miss.Kind);
        Assert.Equal("user_context", miss.Tag("cache.type"));
        Assert.Equal(false, miss.Tag("cache.hit"));
        Assert.Equal("miss", miss.Tag(Outcome));
        Assert.Equal("called", miss.Tag("bendcare.cache.loader"));
        Assert.Null(miss.Tag("bendcare.cache.user_id"));
        Assert.Equal(miss.SpanId, Single(spans, missTrace, "database query").ParentSpanId);

        // The entry's GET and the role epoch's GET, each a client span of the Redis source.
        var commands = Commands(spans, miss);
        Assert.Equal(new[] { "GET", "GET" }, commands.Select(c => c.DisplayName));
        Assert.All(commands, c => Assert.Equal(BendCareCacheDiagnostics.RedisActivitySourceName, c.Source.Name));
        Assert.All(commands, c => Assert.Equal(ActivityKind.Client, c.Kind));
        Assert.All(commands, c => Assert.Equal("redis", c.Tag("db.system.name")));

        // The write-back is the get's child, done after the caller had its value: role registrations and the compare-and-set.
        Assert.Equal(miss.SpanId, writeBack.ParentSpanId);
        Assert.Equal("applied", writeBack.Tag(Outcome));
        Assert.Contains(spans.ChildrenOf(writeBack), c => c.DisplayName == "EVAL");

        Assert.Equal(true, hit.Tag("cache.hit"));
        Assert.Equal("hit", hit.Tag(Outcome));
        Assert.Null(hit.Tag("bendcare.cache.loader"));
        Assert.Equal(new[] { "GET" }, Commands(spans, hit).Select(c => c.DisplayName));
        Assert.DoesNotContain(spans.Trace(hitTrace), a => a.DisplayName == "database query");
    }

    [Fact]
    public async Task Span_trees_of_a_miss_and_of_a_call_while_the_server_is_blackholed()
    {
        using var spans = new SpanRecorder();
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        await using var host = await StartAsync(proxy.Port, o => o.OperationTimeout = TimeSpan.FromSeconds(1));
        string userId = "u-" + Guid.NewGuid().ToString("N");

        var missTrace = await AsRequestAsync(() => host.Cache.GetUserContextAsync(userId, Database(Models.UserContext(userId, "v1", "editor"))));
        await spans.WaitForAsync(a => a.TraceId == missTrace && a.DisplayName == "write_back user_context", "write_back user_context");
        proxy.Blackhole();
        string other = "u-" + Guid.NewGuid().ToString("N");
        var outageTrace = await AsRequestAsync(() => host.Cache.GetUserContextAsync(other, Database(Models.UserContext(other, "v1", "editor"))));

        output.WriteLine("Span tree of a miss (user context):");
        output.WriteLine(spans.Tree(missTrace));
        output.WriteLine("Span tree of a call while Redis is blackholed (user context):");
        output.WriteLine(spans.Tree(outageTrace));

        Assert.Equal("miss", Single(spans, missTrace, "get user_context").Tag(Outcome));
        var outage = Single(spans, outageTrace, "get user_context");
        Assert.Equal("timeout", outage.Tag(Outcome));
        Assert.Equal(false, outage.Tag("cache.hit"));
        Assert.Equal(ActivityStatusCode.Unset, outage.Status);
        Assert.Equal(outage.SpanId, Single(spans, outageTrace, "database query").ParentSpanId);
        var get = Assert.Single(Commands(spans, outage));
        Assert.Equal("GET", get.DisplayName);
        Assert.Equal(ActivityStatusCode.Error, get.Status);
        Assert.Equal("timeout", get.Tag("error.type"));
    }

    [Fact]
    public async Task With_the_server_down_the_get_span_says_skipped_sends_no_command_and_still_nests_the_loader()
    {
        using var spans = new SpanRecorder();
        await using var nothingListening = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        nothingListening.Stop();
        await using var host = await StartAsync(nothingListening.Port, o => o.OperationTimeout = TimeSpan.FromMilliseconds(300));
        string userId = "u-" + Guid.NewGuid().ToString("N");

        var trace = await AsRequestAsync(() => host.Cache.GetUserBasicAsync(userId, Database(Models.UserBasic(userId))));

        var get = Single(spans, trace, "get user_basic");
        Assert.Equal("skipped", get.Tag(Outcome));
        Assert.Equal(false, get.Tag("cache.hit"));
        Assert.Equal(get.SpanId, Single(spans, trace, "database query").ParentSpanId);
        Assert.DoesNotContain(spans.Trace(trace), a => a.Source.Name == BendCareCacheDiagnostics.RedisActivitySourceName);
    }

    [Fact]
    public async Task A_single_flight_follower_links_to_the_leaders_span_and_does_not_claim_its_loader()
    {
        using var spans = new SpanRecorder();
        await using var host = await StartAsync(redis.Server.Port);
        string userId = "u-" + Guid.NewGuid().ToString("N");
        var gate = new GatedLoader<UserBasicInfo?>(Models.UserBasic(userId));
        var leader = AsRequestAsync(() => host.Cache.GetUserBasicAsync(userId, async ct =>
        {
            using var query = SpanRecorder.Source.StartActivity("database query");
            return await gate.Load(ct);
        }));
        await gate.Started.WaitAsync(TimeSpan.FromSeconds(10));
        var follower = AsRequestAsync(() => host.Cache.GetUserBasicAsync(userId, Database(Models.UserBasic(userId, "never"))));

        // Ordering the race, not asserting on internals: the follower has joined before the load ends.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (host.Engine.FollowersOf(host.KeyPrefix + "user_basic:" + userId) < 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        gate.Release();
        var leaderSpan = Single(spans, await leader, "get user_basic");
        var followerTrace = await follower;
        var followerSpan = Single(spans, followerTrace, "get user_basic");

        Assert.Equal(1, gate.Calls);
        Assert.Equal("called", leaderSpan.Tag("bendcare.cache.loader"));
        Assert.Equal(leaderSpan.SpanId, Single(spans, leaderSpan.TraceId, "database query").ParentSpanId);
        Assert.Equal("shared", followerSpan.Tag("bendcare.cache.loader"));
        Assert.Equal("miss", followerSpan.Tag(Outcome));
#if NET9_0_OR_GREATER
        var link = Assert.Single(followerSpan.Links);
        Assert.Equal(leaderSpan.SpanId, link.Context.SpanId);
        Assert.Equal(leaderSpan.TraceId, link.Context.TraceId);
#else
        // Activity.AddLink (a link added after the span started) is .NET 9+: on .NET 8 the follower says "shared" only.
        Assert.Empty(followerSpan.Links);
#endif
        Assert.DoesNotContain(spans.Trace(followerTrace), a => a.DisplayName == "database query");
    }

    [Fact]
    public async Task No_token_id_is_in_any_span_even_with_TraceIds_on_while_user_ids_are()
    {
        using var spans = new SpanRecorder();
        await using var host = await StartAsync(redis.Server.Port, o => o.TraceIds = true);
        string secret = Guid.NewGuid().ToString("N");
        string tokenId = "jti-" + secret;
        string rawToken = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiI" + secret + "In0.c2lnbmF0dXJl";
        string userId = "u-" + Guid.NewGuid().ToString("N");
        var payload = Models.JwtPayload(tokenId);
        await using (var admin = await redis.ConnectAdminAsync())
        {
            // Foreign values at the token's keys take the unreadable and wrong-type paths (error replies name the key).
            await admin.GetDatabase().StringSetAsync(host.KeyPrefix + "token_bl:" + tokenId, "garbage");
            await admin.GetDatabase().ListLeftPushAsync(host.KeyPrefix + "jwt_payload:" + tokenId, "garbage");
        }

        var traces = new List<ActivityTraceId>
        {
            await AsRequestAsync(() => host.Cache.IsTokenBlacklistedAsync(tokenId, Database(false))),
            await AsRequestAsync(() => host.Cache.GetJwtPayloadAsync(tokenId, rawToken, Database(payload))),
            await AsRequestAsync(() => host.Cache.SetJwtPayloadAsync(payload, rawToken)),
            await AsRequestAsync(() => host.Cache.GetJwtPayloadAsync(tokenId, rawToken, Database(payload))),
            await AsRequestAsync(() => host.Cache.GetJwtPayloadAsync(tokenId, Database(payload))),
            await AsRequestAsync(() => host.Cache.InvalidateJwtPayloadAsync(tokenId)),
            await AsRequestAsync(() => host.Cache.BlacklistTokenAsync(tokenId, DateTimeOffset.UtcNow.AddMinutes(10))),
            await AsRequestAsync(() => host.Cache.IsTokenBlacklistedAsync(tokenId, Database(false))),
            await AsRequestAsync(() => host.Cache.GetUserBasicAsync(userId, Database(Models.UserBasic(userId)))),
        };
        await host.WaitForWriteBacksAsync();

        var ours = spans.Stopped.Where(a => traces.Contains(a.TraceId)).ToList();
        Assert.Contains(ours, a => a.DisplayName == "get token_bl" && (string?)a.Tag(Outcome) == "unreadable_healed");
        Assert.Contains(ours, a => a.DisplayName == "get jwt_payload" && (string?)a.Tag(Outcome) == "unreadable_healed");
        Assert.Contains(ours, a => a.DisplayName == "get token_bl" && (string?)a.Tag(Outcome) == "hit");
        Assert.Contains(ours, a => a.DisplayName == "blacklist token_bl");
        Assert.Contains(ours, a => a.DisplayName == "get user_basic" && (string?)a.Tag("bendcare.cache.user_id") == userId);

        // Nothing of the token id, not even the start that logs keep, in any span anyone recorded meanwhile.
        Assert.All(spans.Stopped, a => Assert.DoesNotContain(a.Texts(), t => t.Contains(secret[..8], StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_role_edit_has_a_fan_out_span_that_counts_the_user_contexts_it_tombstoned()
    {
        using var spans = new SpanRecorder();
        await using var host = await StartAsync(redis.Server.Port, o => o.TraceIds = true);
        string roleId = "r-" + Guid.NewGuid().ToString("N");
        foreach (string userId in new[] { "u1", "u2" })
        {
            await host.Cache.GetUserContextAsync(userId, Database(Models.UserContext(userId, "v1", roleId)));
        }

        await host.WaitForWriteBacksAsync();

        var trace = await AsRequestAsync(() => host.Cache.InvalidateRolePermissionsAsync(roleId));

        var edit = Single(spans, trace, "invalidate role_perms");
        Assert.Equal(Single(spans, trace, "request").SpanId, edit.ParentSpanId);
        Assert.Equal("applied", edit.Tag(Outcome));
        Assert.Equal(roleId, edit.Tag("bendcare.cache.role_id"));
        var fanOut = Single(spans, trace, "fan_out user_context");
        Assert.Equal(edit.SpanId, fanOut.ParentSpanId);
        Assert.Equal("user_context", fanOut.Tag("cache.type"));
        Assert.Equal(roleId, fanOut.Tag("bendcare.cache.role_id"));
        Assert.Equal(2, fanOut.Tag("bendcare.cache.count"));
        Assert.Equal("applied", fanOut.Tag(Outcome));

        // The epoch, the member lists, then one tombstone per holder; the role's own tombstone is the edit's.
        Assert.Equal(2, spans.ChildrenOf(fanOut).Count(c => c.DisplayName == "SET"));
        Assert.Contains(spans.ChildrenOf(fanOut), c => c.DisplayName == "EVAL");
        Assert.Equal(new[] { "SET" }, Commands(spans, edit).Select(c => c.DisplayName));
    }

    [Fact]
    public async Task Invalidations_remembered_during_an_outage_are_replayed_under_a_root_span_of_their_own()
    {
        using var spans = new SpanRecorder();
        await using var proxy = new TcpFaultProxy(redis.Server.Host, redis.Server.Port);
        await using var host = await StartAsync(proxy.Port);
        await host.Cache.GetUserBasicAsync("u0", Database(Models.UserBasic("u0")));

        proxy.Stop();
        var traces = new List<ActivityTraceId>();
        foreach (string userId in new[] { "u1", "u2", "u3" })
        {
            traces.Add(await AsRequestAsync(() => host.Cache.InvalidateUserBasicAsync(userId)));
        }

        proxy.Start();
        var replays = new List<Activity>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (replays.Sum(r => (int)r.Tag("bendcare.cache.count")!) < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            replays = [.. spans.Stopped.Where(a => a.DisplayName == "replay invalidations" && Equals(a.Tag("server.port"), proxy.Port))];
        }

        Assert.All(traces, t => Assert.Equal("remembered", Single(spans, t, "invalidate user_basic").Tag(Outcome)));
        Assert.Equal(3, replays.Sum(r => (int)r.Tag("bendcare.cache.count")!));
        var last = replays[^1];
        Assert.Equal(default, last.ParentSpanId);
        Assert.DoesNotContain(last.TraceId, traces);
        Assert.Equal("applied", last.Tag(Outcome));
        Assert.Equal("127.0.0.1", last.Tag("server.address"));
        Assert.Contains(spans.ChildrenOf(last), c => c.DisplayName == "SET");
    }

    [Fact]
    public async Task Sets_many_invalidations_and_a_blacklisting_each_have_a_span_with_their_outcome()
    {
        using var spans = new SpanRecorder();
        await using var host = await StartAsync(redis.Server.Port);
        string tokenId = "jti-" + Guid.NewGuid().ToString("N");

        var set = await AsRequestAsync(() => host.Cache.SetUserBasicAsync(Models.UserBasic("u1")));
        var many = await AsRequestAsync(() => host.Cache.InvalidateUserContextsAsync(["u1", "u2", "u3"]));
        var blacklist = await AsRequestAsync(() => host.Cache.BlacklistTokenAsync(tokenId, null));

        var setSpan = Single(spans, set, "set user_basic");
        Assert.Equal("applied", setSpan.Tag(Outcome));
        Assert.Equal(new[] { "SET" }, Commands(spans, setSpan).Select(c => c.DisplayName));
        var manySpan = Single(spans, many, "invalidate_many user_context");
        Assert.Equal(3, manySpan.Tag("bendcare.cache.count"));
        Assert.Equal("applied", manySpan.Tag(Outcome));
        Assert.Equal(3, spans.ChildrenOf(manySpan).Count(c => c.DisplayName == "SET"));
        var blacklistSpan = Single(spans, blacklist, "blacklist token_bl");
        Assert.Equal("applied", blacklistSpan.Tag(Outcome));
        var payload = Single(spans, blacklist, "invalidate jwt_payload");
        Assert.Equal(blacklistSpan.SpanId, payload.ParentSpanId);
        Assert.Equal("applied", payload.Tag(Outcome));
        Assert.Contains(spans.ChildrenOf(blacklistSpan), c => c.DisplayName == "SET");
    }

    [Fact]
    public async Task A_garbage_entry_says_unreadable_healed_and_a_loader_exception_marks_the_span_as_an_error()
    {
        using var spans = new SpanRecorder();
        await using var host = await StartAsync(redis.Server.Port);
        string userId = "u-" + Guid.NewGuid().ToString("N");
        await using (var admin = await redis.ConnectAdminAsync())
        {
            await admin.GetDatabase().StringSetAsync(host.KeyPrefix + "user_basic:" + userId, new byte[] { 0xde, 0xad, 0xbe, 0xef });
        }

        var garbage = await AsRequestAsync(() => host.Cache.GetUserBasicAsync(userId, Database(Models.UserBasic(userId))));
        var failure = new InvalidOperationException("database down");
        ActivityTraceId failed = default;
        await Assert.ThrowsAsync<InvalidOperationException>(() => AsRequestAsync(
            () =>
            {
                failed = Activity.Current!.TraceId;
                return host.Cache.GetUserBasicAsync("u-" + Guid.NewGuid(), _ => throw failure).AsTask();
            }));

        var healed = Single(spans, garbage, "get user_basic");
        Assert.Equal("unreadable_healed", healed.Tag(Outcome));
        Assert.Equal(false, healed.Tag("cache.hit"));
        Assert.Equal("applied", (await spans.WaitForAsync(a => a.TraceId == garbage && a.DisplayName == "write_back user_basic", "write_back user_basic")).Tag(Outcome));
        var error = Single(spans, failed, "get user_basic");
        Assert.Equal(ActivityStatusCode.Error, error.Status);
        Assert.Equal(typeof(InvalidOperationException).FullName, error.Tag("error.type"));
        Assert.Equal("miss", error.Tag(Outcome));
    }

    private static Task<CacheHost> StartAsync(int port, Action<BendCareCacheOptions>? configure = null) =>
        CacheHost.StartAsync(
            "127.0.0.1",
            port,
            SharedRedisFixture.NewKeyPrefix(),
            o =>
            {
                // Generous unless a test says otherwise: a busy machine must not turn the first miss into a skip.
                o.OperationTimeout = TimeSpan.FromSeconds(5);
                configure?.Invoke(o);
            },
            waitForConnection: false);

    /// <summary>Runs one call as a service's request would: under a span of its own. Returns the request's trace.</summary>
    private static Task<ActivityTraceId> AsRequestAsync<T>(Func<ValueTask<T>> call) => AsRequestAsync(() => call().AsTask());

    private static Task<ActivityTraceId> AsRequestAsync(Func<ValueTask> call) => AsRequestAsync(() => call().AsTask());

    private static async Task<ActivityTraceId> AsRequestAsync(Func<Task> call)
    {
        using var request = SpanRecorder.Source.StartActivity("request")!;
        await call();
        return request.TraceId;
    }

    /// <summary>A loader that reads "the database" under a span of its own, as a traced driver would.</summary>
    private static Func<CancellationToken, ValueTask<T?>> Database<T>(T? value) => async _ =>
    {
        using var query = SpanRecorder.Source.StartActivity("database query");
        await Task.Yield();
        return value;
    };

    /// <summary>The Redis commands a span sent (its children from the Redis source).</summary>
    private static List<Activity> Commands(SpanRecorder spans, Activity span) =>
        [.. spans.ChildrenOf(span).Where(c => c.Source.Name == BendCareCacheDiagnostics.RedisActivitySourceName)];

    private static Activity Single(SpanRecorder spans, ActivityTraceId trace, string name) =>
        Assert.Single(spans.Trace(trace), a => a.DisplayName == name);
}
