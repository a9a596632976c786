using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.IntegrationTests.ConnectionCheck;

/// <summary>
/// The connection check as a person runs it: the <c>bendcare-cache check</c> tool and the quick-start sample's
/// <c>check</c> argument (the same command), each a separate process configured only by environment variables,
/// judged by its exit code and output.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class ConnectionCheckCommandTests(SharedRedisFixture redis)
{
    /// <summary>The programs that run the check, by folder: the tool and the quick-start sample.</summary>
    private static readonly string[] ProgramFolders = ["src/BendCare.Cache.Tool", "samples/BendCare.Cache.QuickStart"];

    public static readonly TheoryData<string> Programs = new(ProgramFolders);

    /// <summary>Settings the options binder cannot convert, as an operator mistypes them.</summary>
    public static readonly TheoryData<string, string, string> UnparsableSettings = new()
    {
        { "src/BendCare.Cache.Tool", "BendCareCache__ConnectTimeout", "5s" },
        { "src/BendCare.Cache.Tool", "BendCareCache__TraceIds", "yes" },
        { "samples/BendCare.Cache.QuickStart", "BendCareCache__ConnectTimeout", "5s" },
    };

    /// <summary>
    /// The programs are run by the machine's <c>dotnet</c>, on its runtime, whichever runtime runs these tests
    /// (the .NET 8 leg of the tests runs self-contained on a machine that has only the .NET 10 runtime).
    /// </summary>
    private const string ProgramFramework = "net10.0";

    private static readonly TimeSpan ProcessLimit = TimeSpan.FromSeconds(60);
    private static readonly Dictionary<string, Lazy<Task<string>>> BuiltPrograms = ProgramFolders.ToDictionary(
        folder => folder, folder => new Lazy<Task<string>>(() => BuildProgramAsync(folder)));

    [Theory]
    [MemberData(nameof(Programs))]
    public async Task Check_command_exits_0_and_prints_OK_for_a_running_server(string program)
    {
        var (exitCode, output) = await RunCheckAsync(program, new()
        {
            ["REDIS_HOST"] = redis.Server.Host,
            ["REDIS_PORT"] = redis.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["REDIS_PASSWORD"] = redis.Server.Password,
        });

        Assert.True(exitCode == 0, $"exit code {exitCode}, output:\n{output}");
        Assert.Contains("\nOK: ", output, StringComparison.Ordinal);
        Assert.Contains("probe:    SET/GET/DEL ok", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public async Task Check_command_exits_1_and_says_refused_when_nothing_listens(string program)
    {
        var (exitCode, output) = await RunCheckAsync(program, new()
        {
            ["REDIS_HOST"] = "127.0.0.1",
            ["REDIS_PORT"] = RedisServer.GetFreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["BendCareCache__ConnectTimeout"] = "00:00:01",
        });

        Assert.True(exitCode == 1, $"exit code {exitCode}, output:\n{output}");
        Assert.Contains("FAILED (refused): ", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public async Task Check_command_exits_1_and_says_disabled_without_REDIS_HOST(string program)
    {
        var (exitCode, output) = await RunCheckAsync(program, new());

        Assert.True(exitCode == 1, $"exit code {exitCode}, output:\n{output}");
        Assert.Contains("FAILED (disabled): ", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(UnparsableSettings))]
    public async Task Check_command_exits_1_with_a_one_line_reason_when_a_setting_cannot_be_parsed(string program, string name, string value)
    {
        var (exitCode, output) = await RunCheckAsync(program, new()
        {
            ["REDIS_HOST"] = redis.Server.Host,
            ["REDIS_PORT"] = redis.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [name] = value,
        });

        Assert.True(exitCode == 1, $"exit code {exitCode}, output:\n{output}");
        Assert.StartsWith("FAILED (config): ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs <c>dotnet &lt;program&gt;.dll check</c> with only <paramref name="environment"/> as cache settings:
    /// REDIS_* and BendCareCache__* variables of the test process are removed first.
    /// </summary>
    internal static async Task<(int ExitCode, string Output)> RunCheckAsync(string program, Dictionary<string, string?> environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(await BuiltPrograms[program].Value);
        info.ArgumentList.Add("check");
        foreach (var name in info.Environment.Keys.ToList())
        {
            if (name.StartsWith("REDIS_", StringComparison.OrdinalIgnoreCase) || name.StartsWith("BendCareCache", StringComparison.OrdinalIgnoreCase))
            {
                info.Environment.Remove(name);
            }
        }

        foreach (var (name, value) in environment)
        {
            if (value is not null)
            {
                info.Environment[name] = value;
            }
        }

        return await RunAsync(info, ProcessLimit);
    }

    /// <summary>Runs a process to its end (killing it, by its own handle, past <paramref name="limit"/>); output is stdout then stderr.</summary>
    private static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo info, TimeSpan limit)
    {
        var result = await ChildProcess.RunAsync(info, limit);
        return (result.ExitCode, (result.StandardOutput + result.StandardError).ReplaceLineEndings("\n"));
    }

    /// <summary>
    /// The program in <paramref name="folder"/>, built once per test run with the configuration of this test
    /// assembly (<c>tests/…/bin/&lt;Config&gt;/…</c>): <c>dotnet test</c> on the solution builds only test projects
    /// and what they reference, and a program left from an earlier build would test old code. The build is
    /// incremental: seconds when nothing changed.
    /// </summary>
    private static async Task<string> BuildProgramAsync(string folder)
    {
        var outputDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        var bin = outputDirectory;
        while (bin is not null && bin.Parent?.Name != "bin")
        {
            bin = bin.Parent;
        }

        string configuration = bin?.Name ?? "Debug";
        var root = outputDirectory;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "BendCare.Cache.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException($"no BendCare.Cache.sln above {outputDirectory.FullName}: cannot find {folder}");
        }

        string name = Path.GetFileName(folder);
        string projectDirectory = Path.Combine(root.FullName, folder);
        var build = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "build", Path.Combine(projectDirectory, name + ".csproj"), "-c", configuration, "-f", ProgramFramework, "-nologo", "-v", "q" })
        {
            build.ArgumentList.Add(argument);
        }

        var (exitCode, output) = await RunAsync(build, TimeSpan.FromMinutes(5));
        string path = Path.Combine(projectDirectory, "bin", configuration, ProgramFramework, name + ".dll");
        if (exitCode != 0 || !File.Exists(path))
        {
            throw new InvalidOperationException($"building {folder} failed (exit code {exitCode}; expected {path}):\n{output}");
        }

        return path;
    }
}
