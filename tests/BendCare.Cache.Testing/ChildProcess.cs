using System.Diagnostics;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>Runs a program as a person would, to its end, and returns what it printed.</summary>
public static class ChildProcess
{
    /// <summary>
    /// Starts <paramref name="info"/> (its output is redirected here) and waits for it to exit; past
    /// <paramref name="limit"/> it is killed, with its children, by its own handle, and a <see cref="TimeoutException"/>
    /// carries what it printed.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(ProcessStartInfo info, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(info);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {info.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"'{info.FileName} {string.Join(' ', info.ArgumentList)}' did not exit within {limit.TotalSeconds:0} s; output:\n{await stdout}{await stderr}");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>How a program ended and what it printed.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);
