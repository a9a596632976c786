using BendCare.Cache.LoadDriver.Measuring;
using BendCare.Cache.LoadDriver.Traffic;

namespace BendCare.Cache.LoadDriver.Runs;

/// <summary>How long each part of the outage run lasts.</summary>
internal sealed record OutagePhases
{
    /// <summary>The outage run's pace unless <c>--rate</c> says otherwise (requests/s over all virtual users).</summary>
    public const double DefaultRequestsPerSecond = 2000;

    /// <summary>Traffic before the "before" window starts (the samples still show it).</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Steady state with Redis up, before the kill.</summary>
    public TimeSpan Before { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>From the kill -9 to the restart on the same port.</summary>
    public TimeSpan Down { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>After the restart; the last <see cref="Settled"/> of it is the "after" window.</summary>
    public TimeSpan After { get; init; } = TimeSpan.FromSeconds(40);

    public TimeSpan Settled { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How often <c>/stats</c> is sampled.</summary>
    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// The outage run: the service with the cache on under the traffic, its Redis killed with kill -9 mid-way and started
/// again on the same port, <c>/stats</c> sampled throughout. Every request must still be answered as expected.
/// </summary>
internal static class OutageRun
{
    public static async Task<OutageResult> RunAsync(TrafficOptions traffic, HostOptions host, OutagePhases phases, TextWriter progress, CancellationToken cancellationToken)
    {
        if (host.RedisEndpoint is not null)
        {
            throw new ArgumentException("The outage run kills the Redis it started: run it without --redis.", nameof(host));
        }

        await using var session = await LoadSession.StartAsync(cacheOn: true, traffic, host, progress, cancellationToken);
        var samples = new List<Snapshot>();
        int samplerErrors = 0;
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(phases.SampleEvery);
            try
            {
                do
                {
                    try
                    {
                        var sample = await session.SnapshotAsync(withMetrics: true, stopSampling.Token);
                        lock (samples)
                        {
                            samples.Add(sample);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !stopSampling.IsCancellationRequested))
                    {
                        samplerErrors++;
                    }
                }
                while (await timer.WaitForNextTickAsync(stopSampling.Token));
            }
            catch (OperationCanceledException) when (stopSampling.IsCancellationRequested)
            {
                // The run is over.
            }
        }, CancellationToken.None);

        await Task.Delay(phases.Warmup + phases.Before, cancellationToken);
        var killed = session.Elapsed;
        await session.Cache!.KillAsync();
        progress.WriteLine($"[outage] {killed.TotalSeconds:0.0} s: killed Redis (kill -9); its port now refuses connections");
        await Task.Delay(phases.Down, cancellationToken);
        await session.Cache.RestartAsync(cancellationToken);
        var restarted = session.Elapsed;
        progress.WriteLine($"[outage] {restarted.TotalSeconds:0.0} s: Redis started again on the same port, empty");
        await Task.Delay(phases.After, cancellationToken);
        var ended = session.Elapsed;
        await session.StopTrafficAsync();
        await stopSampling.CancelAsync();
        await sampler;

        var result = new OutageResult(
            [.. samples],
            phases,
            killed,
            restarted,
            ended,
            session.Traffic.Outcomes.Snapshot(),
            session.Traffic.Outcomes.FailureSamples,
            samplerErrors,
            Machine.LoadAverage(),
            traffic,
            session.Service.Warnings);
        progress.WriteLine($"[outage] {result.Total.Failures} failed requests; queries/s before {result.Before.QueriesPerSecond:0}, during {result.During.QueriesPerSecond:0}, after {result.After.QueriesPerSecond:0}");
        return result;
    }
}

/// <summary>The outage run's samples, its moments (since the traffic started) and the windows derived from them.</summary>
internal sealed record OutageResult(
    IReadOnlyList<Snapshot> Samples,
    OutagePhases Phases,
    TimeSpan Killed,
    TimeSpan Restarted,
    TimeSpan Ended,
    OutcomeCounts Total,
    IReadOnlyList<string> FailureSamples,
    int SamplerErrors,
    string LoadAverage,
    TrafficOptions Traffic,
    IReadOnlyList<(string Line, int Count)> ServiceWarnings)
{
    /// <summary>Steady state with Redis up, from the end of the warm-up to the kill.</summary>
    public Window Before => Between(Phases.Warmup, Killed);

    /// <summary>From the kill to the restart.</summary>
    public Window During => Between(Killed, Restarted);

    /// <summary>The last <see cref="OutagePhases.Settled"/> of the run.</summary>
    public Window After => Between(Ended - Phases.Settled, Ended);

    /// <summary>The first 5 s after the restart: the empty Redis refills.</summary>
    public Window Refill => Between(Restarted, Restarted + TimeSpan.FromSeconds(5));

    /// <summary>Consecutive samples as intervals.</summary>
    public IEnumerable<Window> Intervals => Samples.Zip(Samples.Skip(1), (from, to) => new Window(from, to)).Where(i => i.To.Elapsed <= Ended);

    /// <summary>From the restart to the end of the first sampled interval with a hit rate of 90 % or more; null if none.</summary>
    public TimeSpan? HitsBackAfter => Intervals.FirstOrDefault(i => i.From.Elapsed >= Restarted && i.HitRate >= 0.9) is { } first
        ? first.To.Elapsed - Restarted
        : null;

    /// <summary>The widest sampled window inside [from, to].</summary>
    public Window Between(TimeSpan from, TimeSpan to)
    {
        var first = Samples.FirstOrDefault(s => s.Elapsed >= from) ?? Samples[0];
        var last = Samples.LastOrDefault(s => s.Elapsed <= to) ?? Samples[^1];
        return new Window(first, last);
    }
}
