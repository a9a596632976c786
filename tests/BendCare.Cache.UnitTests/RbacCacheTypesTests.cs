using BendCare.Cache.UnitTests.Support;

namespace BendCare.Cache.UnitTests;

public class RbacCacheTypesTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static RbacCacheTypes Entries(string prefix = "") => new(new BendCareCacheOptions { KeyPrefix = prefix });

    [Theory]
    [InlineData("")]
    [InlineData("bcos:dev:")]
    public void Keys_follow_the_documented_patterns(string prefix)
    {
        var entries = Entries(prefix);

        Assert.Equal($"{prefix}user_context:42", entries.UserContext.Key("42"));
        Assert.Equal($"{prefix}role_perms:42", entries.RolePermissions.Key("42"));
        Assert.Equal($"{prefix}user_basic:42", entries.UserBasic.Key("42"));
        Assert.Equal($"{prefix}token_bl:42", entries.TokenBlacklist.Key("42"));
        Assert.Equal($"{prefix}jwt_payload:42", entries.JwtPayload.Key("42"));
    }

    [Fact]
    public void Keys_without_a_prefix_are_exactly_type_colon_id()
    {
        var entries = Entries();

        Assert.Equal("user_context:u-1", entries.UserContext.Key("u-1"));
        Assert.Equal("role_perms:r-1", entries.RolePermissions.Key("r-1"));
        Assert.Equal("user_basic:u-1", entries.UserBasic.Key("u-1"));
        Assert.Equal("token_bl:t-1", entries.TokenBlacklist.Key("t-1"));
        Assert.Equal("jwt_payload:t-1", entries.JwtPayload.Key("t-1"));
    }

    [Fact]
    public void Keys_with_the_bcos_dev_prefix_start_with_the_prefix()
    {
        var entries = Entries("bcos:dev:");

        Assert.Equal("bcos:dev:user_context:u-1", entries.UserContext.Key("u-1"));
        Assert.Equal("bcos:dev:role_perms:r-1", entries.RolePermissions.Key("r-1"));
        Assert.Equal("bcos:dev:user_basic:u-1", entries.UserBasic.Key("u-1"));
        Assert.Equal("bcos:dev:token_bl:t-1", entries.TokenBlacklist.Key("t-1"));
        Assert.Equal("bcos:dev:jwt_payload:t-1", entries.JwtPayload.Key("t-1"));
    }

    [Fact]
    public void Metric_names_are_the_key_types()
    {
        var entries = Entries("bcos:dev:");

        Assert.Equal("user_context", entries.UserContext.Name);
        Assert.Equal("role_perms", entries.RolePermissions.Name);
        Assert.Equal("user_basic", entries.UserBasic.Name);
        Assert.Equal("token_bl", entries.TokenBlacklist.Name);
        Assert.Equal("jwt_payload", entries.JwtPayload.Name);
    }

    [Fact]
    public void User_contexts_are_grouped_by_role_under_prefixed_keys()
    {
        var groups = Entries("bcos:dev:").UserContext.Groups!;
        var context = Samples.UserContext("u-1");

        Assert.Equal("bcos:dev:rbac_epoch", groups.EpochKey);
        Assert.Equal("bcos:dev:role_members:r-1", groups.SetKey("r-1"));
        Assert.Equal(context.RoleIds, groups.GroupsOf(context));
        Assert.Equal("u-1", groups.IdOf(context));
        Assert.True(groups.MemberLifetime > 2 * new BendCareCacheOptions().UserContextTtl);
    }

    [Fact]
    public void Only_user_contexts_belong_to_groups()
    {
        var entries = Entries();

        Assert.Null(entries.RolePermissions.Groups);
        Assert.Null(entries.UserBasic.Groups);
        Assert.Null(entries.TokenBlacklist.Groups);
        Assert.Null(entries.JwtPayload.Groups);
    }

    [Fact]
    public void Default_ttls_are_5_minutes_24_hours_and_5_minutes()
    {
        var entries = Entries();

        Assert.Equal(TimeSpan.FromMinutes(5), entries.UserContext.TtlFor(Samples.UserContext(), Now));
        Assert.Equal(TimeSpan.FromHours(24), entries.RolePermissions.TtlFor(Samples.RolePermissions(), Now));
        Assert.Equal(TimeSpan.FromMinutes(5), entries.UserBasic.TtlFor(Samples.UserBasic(), Now));
    }

    [Fact]
    public void Ttls_follow_the_options()
    {
        var entries = new RbacCacheTypes(new BendCareCacheOptions
        {
            UserContextTtl = TimeSpan.FromMinutes(1),
            RolePermissionsTtl = TimeSpan.FromMinutes(2),
            UserBasicTtl = TimeSpan.FromMinutes(3),
            TokenBlacklistedTtl = TimeSpan.FromMinutes(4),
            TokenNotBlacklistedTtl = TimeSpan.FromSeconds(5),
            JwtPayloadTtl = TimeSpan.FromMinutes(6),
        });

        Assert.Equal(TimeSpan.FromMinutes(1), entries.UserContext.TtlFor(Samples.UserContext(), Now));
        Assert.Equal(TimeSpan.FromMinutes(2), entries.RolePermissions.TtlFor(Samples.RolePermissions(), Now));
        Assert.Equal(TimeSpan.FromMinutes(3), entries.UserBasic.TtlFor(Samples.UserBasic(), Now));
        Assert.Equal(TimeSpan.FromMinutes(4), entries.TokenBlacklist.TtlFor(true, Now));
        Assert.Equal(TimeSpan.FromSeconds(5), entries.TokenBlacklist.TtlFor(false, Now));
        Assert.Equal(TimeSpan.FromMinutes(6), entries.JwtPayload.TtlFor(Samples.JwtPayload(expiresAt: Now.AddHours(1)), Now));
    }

    [Fact]
    public void Blacklisted_token_lives_1_hour() =>
        Assert.Equal(TimeSpan.FromHours(1), Entries().TokenBlacklist.TtlFor(true, Now));

    [Fact]
    public void Not_blacklisted_token_lives_1_minute() =>
        Assert.Equal(TimeSpan.FromMinutes(1), Entries().TokenBlacklist.TtlFor(false, Now));

    [Fact]
    public void Token_blacklist_tombstones_live_as_long_as_the_longest_answer()
    {
        Assert.Equal(TimeSpan.FromHours(1), Entries().TokenBlacklist.MaxTtl);

        var inverted = new RbacCacheTypes(new BendCareCacheOptions
        {
            TokenBlacklistedTtl = TimeSpan.FromMinutes(1),
            TokenNotBlacklistedTtl = TimeSpan.FromMinutes(2),
        });
        Assert.Equal(TimeSpan.FromMinutes(2), inverted.TokenBlacklist.MaxTtl);
    }

    [Fact]
    public void Jwt_payload_expiring_later_than_5_minutes_lives_5_minutes() =>
        Assert.Equal(TimeSpan.FromMinutes(5), Entries().JwtPayload.TtlFor(Samples.JwtPayload(expiresAt: Now.AddHours(2)), Now));

    [Fact]
    public void Jwt_payload_expiring_sooner_than_5_minutes_lives_until_its_expiry() =>
        Assert.Equal(TimeSpan.FromSeconds(90), Entries().JwtPayload.TtlFor(Samples.JwtPayload(expiresAt: Now.AddSeconds(90)), Now));

    [Fact]
    public void Jwt_payload_expiring_in_exactly_5_minutes_lives_5_minutes() =>
        Assert.Equal(TimeSpan.FromMinutes(5), Entries().JwtPayload.TtlFor(Samples.JwtPayload(expiresAt: Now.AddMinutes(5)), Now));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(-3600)]
    public void Expired_jwt_payload_gets_a_non_positive_ttl(int secondsLeft)
    {
        var ttl = Entries().JwtPayload.TtlFor(Samples.JwtPayload(expiresAt: Now.AddSeconds(secondsLeft)), Now);

        Assert.NotNull(ttl);
        Assert.True(ttl <= TimeSpan.Zero);
    }

    [Fact]
    public void Jwt_payload_ttl_respects_the_expiry_offset()
    {
        var expiresAt = new DateTimeOffset(2025, 6, 1, 14, 2, 0, TimeSpan.FromHours(2));

        Assert.Equal(TimeSpan.FromMinutes(2), Entries().JwtPayload.TtlFor(Samples.JwtPayload(expiresAt: expiresAt), Now));
    }

    [Fact]
    public void Token_ids_are_redacted_in_logs_and_user_and_role_ids_are_not()
    {
        var entries = Entries();

        Assert.Equal("abcdef…", entries.TokenBlacklist.LogId("abcdef-0123-4567"));
        Assert.Equal("abcdef…", entries.JwtPayload.LogId("abcdef-0123-4567"));
        Assert.Equal("…", entries.JwtPayload.LogId("abc"));
        Assert.Equal("user-0123-4567", entries.UserContext.LogId("user-0123-4567"));
        Assert.Equal("role-0123-4567", entries.RolePermissions.LogId("role-0123-4567"));
        Assert.Equal("user-0123-4567", entries.UserBasic.LogId("user-0123-4567"));
    }
}
