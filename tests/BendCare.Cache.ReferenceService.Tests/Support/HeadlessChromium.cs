using System.Diagnostics;
using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.ReferenceService.Tests.Support;

/// <summary>Debian's Chromium, headless, loading a page and printing its DOM once the page's own timers have run.</summary>
public static class HeadlessChromium
{
    /// <summary><c>/usr/bin/chromium</c> or the first of chromium, chromium-browser on PATH; <see langword="null"/> when none.</summary>
    public static string? Find()
    {
        if (File.Exists("/usr/bin/chromium"))
        {
            return "/usr/bin/chromium";
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir => new[] { Path.Combine(dir, "chromium"), Path.Combine(dir, "chromium-browser") })
            .FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Loads <paramref name="url"/> in a fresh profile and returns the DOM after <paramref name="virtualTime"/> of page
    /// time (Chromium runs the page's timers on a virtual clock, its network requests for real). Killed, with its
    /// children, by its own handle when it takes longer than <paramref name="limit"/>.
    /// </summary>
    public static async Task<string> DumpDomAsync(string binary, Uri url, TimeSpan virtualTime, TimeSpan limit)
    {
        var profile = Directory.CreateTempSubdirectory("bendcare-chromium-");
        try
        {
            var info = new ProcessStartInfo(binary);
            foreach (string argument in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                $"--user-data-dir={profile.FullName}",
                $"--virtual-time-budget={((int)virtualTime.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}",
                "--dump-dom", url.ToString(),
            })
            {
                info.ArgumentList.Add(argument);
            }

            var result = await ChildProcess.RunAsync(info, limit);
            Assert.True(result.ExitCode == 0, $"chromium exited with {result.ExitCode}: {result.StandardError}");
            return result.StandardOutput;
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Chromium's last child may still hold a file for a moment; a temp folder left behind is harmless.
            }
        }
    }
}
