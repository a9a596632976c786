using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.IntegrationTests.ConnectionCheck;

/// <summary>
/// The quick-start sample's <c>check</c> command as a person runs it: a separate process configured only by
/// environment variables, judged by its exit code and output.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class ConnectionCheckCommandTests(SharedRedisFixture redis)
{
    private const string SampleName = "BendCare.Cache.QuickStart";
    private static readonly TimeSpan ProcessLimit = TimeSpan.FromSeconds(60);
    private static readonly Lazy<Task<string>> BuiltSample = new(BuildSampleAsync);

    [Fact]
    public async Task Check_command_exits_0_and_prints_OK_for_a_running_server()
    {
        var (exitCode, output) = await RunCheckAsync(new()
        {
            ["REDIS_HOST"] = redis.Server.Host,
            ["REDIS_PORT"] = redis.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["REDIS_PASSWORD"] = redis.Server.Password,
        });

        Assert.True(exitCode == 0, $"exit code {exitCode}, output:\n{output}");
        Assert.Contains("\nOK: ", output, StringComparison.Ordinal);
        Assert.Contains("probe:    SET/GET/DEL ok", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_command_exits_1_and_says_refused_when_nothing_listens()
    {
        var (exitCode, output) = await RunCheckAsync(new()
        {
            ["REDIS_HOST"] = "127.0.0.1",
            ["REDIS_PORT"] = RedisServer.GetFreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["BendCareCache__ConnectTimeout"] = "00:00:01",
        });

        Assert.True(exitCode == 1, $"exit code {exitCode}, output:\n{output}");
        Assert.Contains("FAILED (refused): ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_command_exits_1_and_says_disabled_without_REDIS_HOST()
    {
        var (exitCode, output) = await RunCheckAsync(new());

        Assert.True(exitCode == 1, $"exit code {exitCode}, output:\n{output}");
        Assert.Contains("FAILED (disabled): ", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs <c>dotnet BendCare.Cache.QuickStart.dll check</c> with only <paramref name="environment"/> as cache
    /// settings: REDIS_* and BendCareCache__* variables of the test process are removed first.
    /// </summary>
    private static async Task<(int ExitCode, string Output)> RunCheckAsync(Dictionary<string, string?> environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(await SampleAssembly());
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
    /// The sample, built once per test run with the configuration and target framework of this test assembly
    /// (<c>tests/…/bin/&lt;Config&gt;/&lt;tfm&gt;</c> ⇒ <c>samples/BendCare.Cache.QuickStart/bin/&lt;Config&gt;/&lt;tfm&gt;</c>):
    /// <c>dotnet test</c> on the solution builds only test projects and what they reference, and a sample left
    /// from an earlier build would test old code. The build is incremental: seconds when nothing changed.
    /// </summary>
    private static Task<string> SampleAssembly() => BuiltSample.Value;

    private static async Task<string> BuildSampleAsync()
    {
        var outputDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        string framework = outputDirectory.Name;
        string configuration = outputDirectory.Parent?.Name ?? "Debug";
        var root = outputDirectory;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "BendCare.Cache.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException($"no BendCare.Cache.sln above {outputDirectory.FullName}: cannot find the sample");
        }

        string project = Path.Combine(root.FullName, "samples", SampleName, SampleName + ".csproj");
        var build = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "build", project, "-c", configuration, "-f", framework, "-nologo", "-v", "q" })
        {
            build.ArgumentList.Add(argument);
        }

        var (exitCode, output) = await RunAsync(build, TimeSpan.FromMinutes(5));
        string path = Path.Combine(root.FullName, "samples", SampleName, "bin", configuration, framework, SampleName + ".dll");
        if (exitCode != 0 || !File.Exists(path))
        {
            throw new InvalidOperationException($"building the sample failed (exit code {exitCode}; expected {path}):\n{output}");
        }

        return path;
    }
}
