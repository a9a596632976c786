using BendCare.Cache.UnitTests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BendCare.Cache.UnitTests;

/// <summary>Every public <see cref="IRbacCache"/> method rejects a bad id, naming its parameter, before any loader runs.</summary>
public sealed class FacadeIdValidationTests : IAsyncDisposable
{
    private const string RawToken = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ0b2tlbi0xIn0.c2lnbmF0dXJl";

    private readonly ServiceProvider _provider = TestServices.DisabledProvider();
    private int _loaderCalls;

    [Fact]
    public async Task A_bad_id_is_reported_before_a_null_loader()
    {
        var cache = _provider.GetRequiredService<IRbacCache>();

        var context = await Assert.ThrowsAnyAsync<ArgumentException>(async () => await cache.GetUserContextAsync("", null!));
        var jwt = await Assert.ThrowsAnyAsync<ArgumentException>(async () => await cache.GetJwtPayloadAsync(" ", RawToken, null!));
        var token = await Assert.ThrowsAnyAsync<ArgumentException>(async () => await cache.GetJwtPayloadAsync("jti-1", "", null!));

        Assert.Equal("userId", context.ParamName);
        Assert.Equal("tokenId", jwt.ParamName);
        Assert.Equal("rawToken", token.ParamName);
    }

    public static TheoryData<string, string> MethodsAndBadIds()
    {
        var data = new TheoryData<string, string>();
        foreach (string method in Methods)
        {
            foreach (string badId in BadIds.Keys)
            {
                data.Add(method, badId);
            }
        }

        return data;
    }

    private static readonly string[] Methods =
    [
        nameof(IRbacCache.GetUserContextAsync),
        nameof(IRbacCache.SetUserContextAsync),
        nameof(IRbacCache.InvalidateUserContextAsync),
        nameof(IRbacCache.InvalidateUserContextsAsync),
        nameof(IRbacCache.GetRolePermissionsAsync),
        nameof(IRbacCache.SetRolePermissionsAsync),
        nameof(IRbacCache.InvalidateRolePermissionsAsync),
        nameof(IRbacCache.GetUserBasicAsync),
        nameof(IRbacCache.SetUserBasicAsync),
        nameof(IRbacCache.InvalidateUserBasicAsync),
        nameof(IRbacCache.IsTokenBlacklistedAsync),
        nameof(IRbacCache.BlacklistTokenAsync),
        nameof(IRbacCache.GetJwtPayloadAsync),
        nameof(IRbacCache.GetJwtPayloadAsync) + "(rawToken)",
        nameof(IRbacCache.SetJwtPayloadAsync),
        nameof(IRbacCache.SetJwtPayloadAsync) + "(rawToken)",
        nameof(IRbacCache.InvalidateJwtPayloadAsync),
        nameof(IRbacCache.GetUserContextAsync) + "(state)",
        nameof(IRbacCache.GetRolePermissionsAsync) + "(state)",
        nameof(IRbacCache.GetUserBasicAsync) + "(state)",
        nameof(IRbacCache.IsTokenBlacklistedAsync) + "(state)",
        nameof(IRbacCache.GetJwtPayloadAsync) + "(rawToken, state)",
    ];

    private static readonly Dictionary<string, string?> BadIds = new()
    {
        ["null"] = null,
        ["empty"] = "",
        ["whitespace"] = "   ",
        ["newline"] = "user\n1",
        ["nul"] = "user\01",
        ["del"] = "user\u007f1",
        ["513_chars"] = new string('u', 513),
    };

    [Theory]
    [MemberData(nameof(MethodsAndBadIds))]
    public async Task Public_method_rejects_bad_id_with_ArgumentException_naming_the_parameter_before_calling_the_loader(string method, string badId)
    {
        var cache = _provider.GetRequiredService<IRbacCache>();
        var (parameter, call) = Call(cache, method, BadIds[badId]);

        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(call);

        Assert.Equal(parameter, ex.ParamName);
        if (badId == "null")
        {
            Assert.IsType<ArgumentNullException>(ex);
        }

        Assert.Equal(0, _loaderCalls);
    }

    [Fact]
    public async Task InvalidateUserContextsAsync_rejects_a_bad_id_anywhere_in_the_list()
    {
        var cache = _provider.GetRequiredService<IRbacCache>();

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await cache.InvalidateUserContextsAsync(["user-1", "user-2", ""]));

        Assert.Equal("userIds", ex.ParamName);
    }

    [Fact]
    public async Task InvalidateUserContextsAsync_rejects_a_null_list()
    {
        var cache = _provider.GetRequiredService<IRbacCache>();

        var ex = await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.InvalidateUserContextsAsync(null!));

        Assert.Equal("userIds", ex.ParamName);
    }

    [Fact]
    public async Task Jwt_raw_token_getter_rejects_an_empty_raw_token_before_calling_the_loader()
    {
        var cache = _provider.GetRequiredService<IRbacCache>();

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await cache.GetJwtPayloadAsync("token-1", "", Load<JwtPayload>));

        Assert.Equal("rawToken", ex.ParamName);
        Assert.Equal(0, _loaderCalls);
    }

    [Fact]
    public async Task Jwt_raw_token_setter_rejects_a_null_raw_token()
    {
        var cache = _provider.GetRequiredService<IRbacCache>();

        var ex = await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.SetJwtPayloadAsync(Samples.JwtPayload(), (string)null!));

        Assert.Equal("rawToken", ex.ParamName);
    }

    [Fact]
    public async Task Getters_reject_a_null_loader()
    {
        var cache = _provider.GetRequiredService<IRbacCache>();

        var ex = await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.GetUserContextAsync("user-1", null!));

        Assert.Equal("loader", ex.ParamName);
    }

    [Fact]
    public async Task Setters_reject_a_null_value_naming_the_parameter()
    {
        var cache = _provider.GetRequiredService<IRbacCache>();

        Assert.Equal("context", (await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.SetUserContextAsync(null!))).ParamName);
        Assert.Equal("permissions", (await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.SetRolePermissionsAsync(null!))).ParamName);
        Assert.Equal("user", (await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.SetUserBasicAsync(null!))).ParamName);
        Assert.Equal("payload", (await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.SetJwtPayloadAsync(null!))).ParamName);
        Assert.Equal("payload", (await Assert.ThrowsAsync<ArgumentNullException>(async () => await cache.SetJwtPayloadAsync(null!, RawToken))).ParamName);
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    private ValueTask<T?> Load<T>(CancellationToken cancellationToken)
        where T : class
    {
        Interlocked.Increment(ref _loaderCalls);
        return ValueTask.FromResult<T?>(null);
    }

    private ValueTask<bool> LoadBool(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _loaderCalls);
        return ValueTask.FromResult(false);
    }

    private (string Parameter, Func<Task> Call) Call(IRbacCache cache, string method, string? id) => method switch
    {
        nameof(IRbacCache.GetUserContextAsync) => ("userId", async () => await cache.GetUserContextAsync(id!, Load<UserContext>)),
        nameof(IRbacCache.SetUserContextAsync) => ("context", async () => await cache.SetUserContextAsync(Samples.UserContext() with { UserId = id! })),
        nameof(IRbacCache.InvalidateUserContextAsync) => ("userId", async () => await cache.InvalidateUserContextAsync(id!)),
        nameof(IRbacCache.InvalidateUserContextsAsync) => ("userIds", async () => await cache.InvalidateUserContextsAsync(["user-ok", id!])),
        nameof(IRbacCache.GetRolePermissionsAsync) => ("roleId", async () => await cache.GetRolePermissionsAsync(id!, Load<RolePermissions>)),
        nameof(IRbacCache.SetRolePermissionsAsync) => ("permissions", async () => await cache.SetRolePermissionsAsync(Samples.RolePermissions() with { RoleId = id! })),
        nameof(IRbacCache.InvalidateRolePermissionsAsync) => ("roleId", async () => await cache.InvalidateRolePermissionsAsync(id!)),
        nameof(IRbacCache.GetUserBasicAsync) => ("userId", async () => await cache.GetUserBasicAsync(id!, Load<UserBasicInfo>)),
        nameof(IRbacCache.SetUserBasicAsync) => ("user", async () => await cache.SetUserBasicAsync(Samples.UserBasic() with { UserId = id! })),
        nameof(IRbacCache.InvalidateUserBasicAsync) => ("userId", async () => await cache.InvalidateUserBasicAsync(id!)),
        nameof(IRbacCache.IsTokenBlacklistedAsync) => ("tokenId", async () => await cache.IsTokenBlacklistedAsync(id!, LoadBool)),
        nameof(IRbacCache.BlacklistTokenAsync) => ("tokenId", async () => await cache.BlacklistTokenAsync(id!, DateTimeOffset.UtcNow.AddHours(1))),
        nameof(IRbacCache.GetJwtPayloadAsync) => ("tokenId", async () => await cache.GetJwtPayloadAsync(id!, Load<JwtPayload>)),
        nameof(IRbacCache.GetJwtPayloadAsync) + "(rawToken)" => ("tokenId", async () => await cache.GetJwtPayloadAsync(id!, RawToken, Load<JwtPayload>)),
        nameof(IRbacCache.SetJwtPayloadAsync) => ("payload", async () => await cache.SetJwtPayloadAsync(Samples.JwtPayload() with { TokenId = id! })),
        nameof(IRbacCache.SetJwtPayloadAsync) + "(rawToken)" => ("payload", async () => await cache.SetJwtPayloadAsync(Samples.JwtPayload() with { TokenId = id! }, RawToken)),
        nameof(IRbacCache.InvalidateJwtPayloadAsync) => ("tokenId", async () => await cache.InvalidateJwtPayloadAsync(id!)),
        nameof(IRbacCache.GetUserContextAsync) + "(state)" => ("userId", async () => await cache.GetUserContextAsync(id!, this, static (t, ct) => t.Load<UserContext>(ct))),
        nameof(IRbacCache.GetRolePermissionsAsync) + "(state)" => ("roleId", async () => await cache.GetRolePermissionsAsync(id!, this, static (t, ct) => t.Load<RolePermissions>(ct))),
        nameof(IRbacCache.GetUserBasicAsync) + "(state)" => ("userId", async () => await cache.GetUserBasicAsync(id!, this, static (t, ct) => t.Load<UserBasicInfo>(ct))),
        nameof(IRbacCache.IsTokenBlacklistedAsync) + "(state)" => ("tokenId", async () => await cache.IsTokenBlacklistedAsync(id!, this, static (t, ct) => t.LoadBool(ct))),
        nameof(IRbacCache.GetJwtPayloadAsync) + "(rawToken, state)" => ("tokenId", async () => await cache.GetJwtPayloadAsync(id!, RawToken, this, static (t, ct) => t.Load<JwtPayload>(ct))),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };
}
