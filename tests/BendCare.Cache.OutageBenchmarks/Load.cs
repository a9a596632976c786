using System.Diagnostics;

namespace BendCare.Cache.OutageBenchmarks;

/// <summary>One call: when it started and ended, and how long the loader itself ran inside it.</summary>
internal sealed class CallSample
{
    public int Worker { get; init; }

    public int Index { get; init; }

    public long Start { get; set; }

    public long End { get; set; }

    public long LoaderTicks { get; set; }

    public bool LoaderCalled { get; set; }

    public bool Threw { get; set; }

    public bool Wrong { get; set; }

    public double LatencyMs => Ms(End - Start);

    /// <summary>Time the call added on top of its own loader run (the whole call when the loader did not run).</summary>
    public double AddedMs => Ms(End - Start - (LoaderCalled ? LoaderTicks : 0));

    public bool Hit => !LoaderCalled && !Threw;

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>The loader and the three ways of calling it: sequentially, 32-way concurrently, and once (recovery polls).</summary>
internal static class Load
{
    /// <summary>The simulated database read: <c>await Task.Delay(LoaderDelay)</c> (a timer, ~1 ms granularity on Linux).</summary>
    public static TimeSpan LoaderDelay { get; set; } = TimeSpan.FromMilliseconds(4);

    public static UserContext Context(string id) => new()
    {
        UserId = id,
        RoleIds = ["role-a", "role-b"],
        Permissions = ["patients:read", "patients:write", "billing:read", "schedule:read"],
        OrganizationIds = ["org-1"],
    };

    public static Func<CancellationToken, ValueTask<UserContext?>> Loader(string id, CallSample sample) => async ct =>
    {
        long started = Stopwatch.GetTimestamp();
        await Task.Delay(LoaderDelay, ct);
        var value = Context(id);
        sample.LoaderTicks = Stopwatch.GetTimestamp() - started;
        sample.LoaderCalled = true;
        return value;
    };

    public static async Task<CallSample> CallAsync(ICacheClient client, string id, int worker, int index)
    {
        var sample = new CallSample { Worker = worker, Index = index };
        var loader = Loader(id, sample);
        sample.Start = Stopwatch.GetTimestamp();
        try
        {
            var value = await client.GetAsync(id, loader);
            sample.Wrong = value is null || value.UserId != id;
        }
#pragma warning disable CA1031 // the harness counts every exception a caller would see
        catch (Exception)
#pragma warning restore CA1031
        {
            sample.Threw = true;
        }

        sample.End = Stopwatch.GetTimestamp();
        return sample;
    }

    /// <summary>The loader alone, the same way (the baseline "added time" is measured against).</summary>
    public static async Task<CallSample> LoaderOnlyAsync(int worker, int index)
    {
        var sample = new CallSample { Worker = worker, Index = index };
        var loader = Loader("baseline", sample);
        sample.Start = Stopwatch.GetTimestamp();
        await loader(CancellationToken.None);
        sample.End = Stopwatch.GetTimestamp();
        return sample;
    }

    /// <summary><paramref name="calls"/> calls one after another; no new call starts after <paramref name="budget"/> (the first always runs).</summary>
    public static async Task<List<CallSample>> SequentialAsync(Func<int, int, Task<CallSample>> call, int calls, TimeSpan? budget)
    {
        var samples = new List<CallSample>(calls);
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < calls; i++)
        {
            if (i > 0 && budget is { } b && Stopwatch.GetElapsedTime(started) >= b)
            {
                break;
            }

            samples.Add(await call(0, i));
        }

        return samples;
    }

    /// <summary><paramref name="workers"/> workers released together, each making up to <paramref name="callsPerWorker"/> calls back to back.</summary>
    public static async Task<List<CallSample>> ConcurrentAsync(Func<int, int, Task<CallSample>> call, int workers, int callsPerWorker, TimeSpan? budget)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long started = 0;
        var tasks = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            await gate.Task;
            var mine = new List<CallSample>(callsPerWorker);
            for (int i = 0; i < callsPerWorker; i++)
            {
                if (i > 0 && budget is { } b && Stopwatch.GetElapsedTime(Volatile.Read(ref started)) >= b)
                {
                    break;
                }

                mine.Add(await call(w, i));
            }

            return mine;
        })).ToArray();
        Volatile.Write(ref started, Stopwatch.GetTimestamp());
        gate.SetResult();
        var all = await Task.WhenAll(tasks);
        return [.. all.SelectMany(static s => s).OrderBy(static s => s.Start)];
    }
}
