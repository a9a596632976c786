using BendCare.Cache.IntegrationTests.Topology;

namespace BendCare.Cache.IntegrationTests.ConnectionCheck;

/// <summary>
/// <c>bendcare-cache check</c> run by a person with wrong credentials against a real ACL server: exit code 1, the
/// reason <c>auth</c>, and neither the wrong password nor the right one anywhere in what it prints.
/// </summary>
public sealed class ConnectionCheckCredentialsTests(AclServerFixture acl) : IClassFixture<AclServerFixture>
{
    [Theory]
    [MemberData(nameof(ConnectionCheckCommandTests.Programs), MemberType = typeof(ConnectionCheckCommandTests))]
    public async Task Check_command_with_a_wrong_password_exits_1_says_auth_and_prints_no_password(string program)
    {
        string user = $"chk-{Guid.NewGuid():N}";
        string password = $"Right-{Guid.NewGuid():N}";
        string wrong = $"Wrong-{Guid.NewGuid():N}";
        await acl.CreateUserAsync(user, password, AclRules.ForLibrary("bendcare-check:", acl.Version));

        var (exitCode, output) = await ConnectionCheckCommandTests.RunCheckAsync(program, new()
        {
            ["REDIS_HOST"] = acl.Server.Host,
            ["REDIS_PORT"] = acl.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["REDIS_USERNAME"] = user,
            ["REDIS_PASSWORD"] = wrong,
            ["BendCareCache__ConnectTimeout"] = "00:00:02",
        });

        Assert.True(exitCode == 1, $"exit code {exitCode}, output:\n{output}");
        Assert.Contains("FAILED (auth): ", output, StringComparison.Ordinal);
        Assert.Contains($"user={user}, password=****", output, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, output, StringComparison.Ordinal);
        Assert.DoesNotContain(password, output, StringComparison.Ordinal);
    }
}
