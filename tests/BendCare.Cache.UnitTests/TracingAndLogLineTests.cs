using System.Diagnostics;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.Testing;
using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// The pure parts of the diagnostics: the hit/miss lines' texts and fields, the span names, the ids option, and the
/// spans of a disabled cache (no Redis involved, so no server needed). Spans against a real server are in the
/// integration tests' Observability folder.
/// </summary>
public sealed class TracingAndLogLineTests : DisabledCacheTest
{
    [Fact]
    public void Hit_and_miss_lines_have_the_seed_text_as_message_the_pinned_event_id_and_the_id_as_a_field()
    {
        var types = new RbacCacheTypes(new BendCareCacheOptions());
        var expected = new (CacheResultLog Line, int EventId, string Text, string Field)[]
        {
            (types.UserContext.HitLog, Log.UserContextHitId, "User context cache hit in Redis", "userId"),
            (types.UserContext.MissLog, Log.UserContextMissId, "User context cache miss in Redis", "userId"),
            (types.RolePermissions.HitLog, Log.RolePermissionsHitId, "Role permissions cache hit in Redis", "roleId"),
            (types.RolePermissions.MissLog, Log.RolePermissionsMissId, "Role permissions cache miss in Redis", "roleId"),
            (types.UserBasic.HitLog, Log.UserBasicHitId, "User basic info cache hit in Redis", "userId"),
            (types.UserBasic.MissLog, Log.UserBasicMissId, "User basic info cache miss in Redis", "userId"),
            (types.TokenBlacklist.HitLog, Log.TokenBlacklistHitId, "Token blacklist cache hit in Redis", "tokenId"),
            (types.TokenBlacklist.MissLog, Log.TokenBlacklistMissId, "Token blacklist cache miss in Redis", "tokenId"),
            (types.JwtPayload.HitLog, Log.JwtPayloadHitId, "JWT payload cache hit in Redis", "tokenId"),
            (types.JwtPayload.MissLog, Log.JwtPayloadMissId, "JWT payload cache miss in Redis", "tokenId"),
        };

        foreach (var (line, eventId, text, field) in expected)
        {
            var logger = new StateLogger();
            line.Write(logger, "id-42");

            var (level, id, message, state) = Assert.Single(logger.Entries);
            Assert.Equal(LogLevel.Debug, level);
            Assert.Equal(eventId, id.Id);
            Assert.Equal(text, message);
            Assert.Equal([new(field, "id-42"), new("{OriginalFormat}", text)], state);
        }
    }

    [Fact]
    public void A_line_is_not_built_when_debug_is_off()
    {
        var logger = new StateLogger(LogLevel.Information);

        Log.UserContextHit.Write(logger, "id-42");

        Assert.Empty(logger.Entries);
    }

    [Fact]
    public void Span_names_are_the_operation_and_the_cache_type()
    {
        var types = new RbacCacheTypes(new BendCareCacheOptions());

        Assert.Equal("get user_context", types.UserContext.SpanName(TracedOperation.Get));
        Assert.Equal("set role_perms", types.RolePermissions.SpanName(TracedOperation.Set));
        Assert.Equal("invalidate user_basic", types.UserBasic.SpanName(TracedOperation.Invalidate));
        Assert.Equal("invalidate_many user_context", types.UserContext.SpanName(TracedOperation.InvalidateMany));
        Assert.Equal("blacklist token_bl", types.TokenBlacklist.SpanName(TracedOperation.Blacklist));
        Assert.Equal("fan_out user_context", types.UserContext.SpanName(TracedOperation.FanOut));
        Assert.Equal("write_back jwt_payload", types.JwtPayload.SpanName(TracedOperation.WriteBack));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ids_are_traced_only_with_TraceIds_and_token_ids_never(bool traceIds)
    {
        var types = new RbacCacheTypes(new BendCareCacheOptions { TraceIds = traceIds });

        Assert.Equal(traceIds ? "bendcare.cache.user_id" : null, types.UserContext.TraceIdAttribute);
        Assert.Equal(traceIds ? "bendcare.cache.user_id" : null, types.UserBasic.TraceIdAttribute);
        Assert.Equal(traceIds ? "bendcare.cache.role_id" : null, types.RolePermissions.TraceIdAttribute);
        Assert.Null(types.TokenBlacklist.TraceIdAttribute);
        Assert.Null(types.JwtPayload.TraceIdAttribute);
    }

    [Fact]
    public async Task TraceIds_is_bound_from_the_BendCareCache_section()
    {
        await using var provider = TestServices.Services(TestServices.Configuration(("BendCareCache:TraceIds", "true"))).BuildServiceProvider();

        Assert.True(provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value.TraceIds);
        Assert.False(new BendCareCacheOptions().TraceIds);
    }

    [Fact]
    public void The_published_names_are_those_of_the_library_instruments()
    {
        Assert.Equal("BendCare.Cache", BendCareCacheDiagnostics.ActivitySourceName);
        Assert.Equal("BendCare.Cache.Redis", BendCareCacheDiagnostics.RedisActivitySourceName);
        Assert.Equal("BendCare.Cache", BendCareCacheDiagnostics.MeterName);
        Assert.Equal(CacheMetrics.MeterName, BendCareCacheDiagnostics.MeterName);
        Assert.Equal(CacheLogger.Category, BendCareCacheDiagnostics.LogCategory);
        using var metrics = new CacheMetrics();
        Assert.Equal(BendCareCacheDiagnostics.MeterName, metrics.Meter.Name);
        Assert.Equal(BendCareCacheDiagnostics.ActivitySourceName, CacheTracing.Operations.Name);
        Assert.Equal(BendCareCacheDiagnostics.RedisActivitySourceName, CacheTracing.Redis.Name);
    }

    [Fact]
    public async Task A_disabled_cache_traces_its_getter_as_skipped_with_the_loader_nested_and_no_redis_command()
    {
        using var spans = new SpanRecorder();
        ActivityTraceId trace;
        using (var request = SpanRecorder.Source.StartActivity("request")!)
        {
            trace = request.TraceId;
            await Cache.GetUserBasicAsync("u1", static _ =>
            {
                using var query = SpanRecorder.Source.StartActivity("database query");
                return ValueTask.FromResult<UserBasicInfo?>(Models.UserBasic("u1"));
            });
            await Cache.InvalidateUserBasicAsync("u1");
        }

        var get = Assert.Single(spans.Trace(trace), a => a.DisplayName == "get user_basic");
        Assert.Equal("skipped", get.GetTagItem("bendcare.cache.outcome"));
        Assert.Equal(false, get.GetTagItem("cache.hit"));
        Assert.Equal("called", get.GetTagItem("bendcare.cache.loader"));
        Assert.Equal(get.SpanId, Assert.Single(spans.Trace(trace), a => a.DisplayName == "database query").ParentSpanId);
        Assert.Equal("skipped", Assert.Single(spans.Trace(trace), a => a.DisplayName == "invalidate user_basic").GetTagItem("bendcare.cache.outcome"));
        Assert.DoesNotContain(spans.Trace(trace), a => a.Source.Name == BendCareCacheDiagnostics.RedisActivitySourceName);
    }

    [Fact]
    public async Task The_callers_current_activity_is_its_own_again_after_every_operation()
    {
        using var spans = new SpanRecorder();
        using var request = SpanRecorder.Source.StartActivity("request")!;

        await Cache.GetUserContextAsync("u1", static _ => ValueTask.FromResult<UserContext?>(null));
        Assert.Same(request, Activity.Current);
        await Cache.SetUserBasicAsync(Models.UserBasic("u1"));
        Assert.Same(request, Activity.Current);
        await Cache.InvalidateRolePermissionsAsync("r1");
        Assert.Same(request, Activity.Current);
        await Cache.BlacklistTokenAsync("t1", null);
        Assert.Same(request, Activity.Current);
        await Cache.InvalidateUserContextsAsync(["u1", "u2"]);
        Assert.Same(request, Activity.Current);
    }

    /// <summary>Keeps each entry's state as the list of fields a structured logger reads.</summary>
    private sealed class StateLogger(LogLevel minimum = LogLevel.Trace) : ILogger
    {
        public List<(LogLevel Level, EventId Id, string Message, KeyValuePair<string, object?>[] State)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, eventId, formatter(state, exception), [.. (IReadOnlyList<KeyValuePair<string, object?>>)state!]));
    }
}
