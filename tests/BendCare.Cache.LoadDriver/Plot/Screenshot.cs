using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.LoadDriver.Plot;

/// <summary>An SVG as a PNG, through Debian's headless Chromium (the one the live-page test uses).</summary>
internal static class Screenshot
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>Writes <paramref name="svg"/> (<paramref name="width"/>×<paramref name="height"/>) to <paramref name="pngPath"/>.</summary>
    public static async Task SavePngAsync(string svg, int width, int height, string pngPath)
    {
        if (!File.Exists(Chromium))
        {
            string svgPath = Path.ChangeExtension(pngPath, ".svg");
            await File.WriteAllTextAsync(svgPath, svg);
            throw new FileNotFoundException($"{Chromium} is needed to turn the plot into a PNG (apt-get install chromium); the SVG is in {svgPath}.", Chromium);
        }

        var directory = Directory.CreateTempSubdirectory("bendcare-plot-");
        try
        {
            string page = Path.Combine(directory.FullName, "plot.html");
            await File.WriteAllTextAsync(page, $"<!doctype html><html><head><meta charset=\"utf-8\"><style>html,body{{margin:0;background:#fff;overflow:hidden}}</style></head><body>{svg}</body></html>");
            string target = Path.GetFullPath(pngPath);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var info = new ProcessStartInfo(Chromium);
            foreach (string argument in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars", $"--user-data-dir={Path.Combine(directory.FullName, "profile")}",
                $"--screenshot={target}", $"--window-size={width},{height}", new Uri(page).AbsoluteUri,
            })
            {
                info.ArgumentList.Add(argument);
            }

            var result = await ChildProcess.RunAsync(info, TimeSpan.FromSeconds(120));
            if (result.ExitCode != 0 || !File.Exists(target))
            {
                throw new InvalidOperationException($"chromium exited with {result.ExitCode} and wrote no {target}: {result.StandardError}");
            }
        }
        finally
        {
            try
            {
                directory.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Chromium's last child may still hold a file for a moment; a temp folder left behind is harmless.
            }
        }
    }
}
