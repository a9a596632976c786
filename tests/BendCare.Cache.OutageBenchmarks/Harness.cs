using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.OutageBenchmarks;

internal enum ClientKind
{
    BendCare,
    Plain,
}

internal enum Mode
{
    Sequential,
    Concurrent,
}

/// <summary>Sizes of one harness run.</summary>
internal sealed record Settings
{
    public bool Quick { get; init; }

    public int SequentialCalls { get; init; } = 200;

    public int Workers { get; init; } = 32;

    public int CallsPerWorker { get; init; } = 100;

    public int PlainSequentialCalls { get; init; } = 20;

    public int PlainCallsPerWorker { get; init; } = 5;

    /// <summary>No new plain-client call starts after this long in a phase (each may wait the client's 5 s timeout).</summary>
    public TimeSpan PlainPhaseBudget { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Each fault lasts at least this long (the load, then one caller every ~5 ms), so back-offs build up as in a real outage.</summary>
    public TimeSpan Hold { get; init; } = TimeSpan.FromSeconds(6);

    public TimeSpan RecoveryCap { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Up to this much is added at random to each hold, so the fault is removed at a random point of the client's
    /// internal 1 s heartbeat (StackExchange.Redis reconnects only on a heartbeat); a fixed hold would always hit the same phase.
    /// </summary>
    public TimeSpan HoldJitter { get; init; } = TimeSpan.FromSeconds(1);

    public int Seed { get; init; } = 1;

    /// <summary>How many fresh BendCare instances per fault and mode (more recovery samples).</summary>
    public int Repeat { get; init; } = 1;

    public IReadOnlyList<string> Faults { get; init; } = [.. Fault.All.Select(static f => f.Name)];

    public IReadOnlyList<ClientKind> Clients { get; init; } = [ClientKind.BendCare, ClientKind.Plain];

    /// <summary>Experiment only (not the default run): StackExchange.Redis heartbeat for BendCare's connection, via ConfigureConnection.</summary>
    public int? HeartbeatMs { get; init; }

    /// <summary>Experiment only: cap of BendCare's reconnect back-off (ExponentialRetry(250, cap)), via ConfigureConnection.</summary>
    public int? ReconnectMaxMs { get; init; }

    /// <summary>Invalidate one user context while the fault lasts (BendCare): recovery then includes its replay.</summary>
    public bool InvalidateDuringFault { get; init; }

    /// <summary>Diagnosis only: StackExchange.Redis' own log lines join the timeline printed by --verbose.</summary>
    public bool Diagnose { get; init; }

    public bool IsExperiment => HeartbeatMs is not null || ReconnectMaxMs is not null;

    public string ExperimentText => IsExperiment
        ? $"EXPERIMENT, not the library defaults: ConfigureConnection sets{(HeartbeatMs is { } h ? $" HeartbeatInterval={h} ms" : "")}{(ReconnectMaxMs is { } r ? $" ReconnectRetryPolicy=ExponentialRetry(250, {r})" : "")}"
        : "";

    public static Settings ForQuick() => new()
    {
        Quick = true,
        SequentialCalls = 60,
        CallsPerWorker = 20,
        PlainSequentialCalls = 5,
        PlainCallsPerWorker = 2,
        PlainPhaseBudget = TimeSpan.FromSeconds(3),
        Hold = TimeSpan.FromSeconds(3),
        HoldJitter = TimeSpan.FromSeconds(1),
        RecoveryCap = TimeSpan.FromSeconds(12),
    };
}

internal sealed record Phase(Mode Mode, List<CallSample> Samples, TimeSpan Duration);

/// <summary>Everything measured for one client instance under one fault.</summary>
internal sealed record RunResult
{
    public required string Fault { get; init; }

    public required ClientKind Client { get; init; }

    public required string Removal { get; init; }

    public required bool FromStart { get; init; }

    public required TimeSpan Startup { get; init; }

    public required long FaultAt { get; init; }

    public required TimeSpan HoldFor { get; init; }

    public long? InvalidatedAt { get; init; }

    /// <summary>When the remembered invalidation was replayed (log 3005 after the fault was removed).</summary>
    public long? ReplayedLogAt => RemovedAt is { } removed && InvalidatedAt is not null ? Logs.FirstOrDefault(l => l.IsLibrary && l.EventId == 3005 && l.Timestamp >= removed)?.Timestamp : null;

    public required List<Phase> Phases { get; init; }

    public required List<CallSample> Hold { get; init; }

    public required List<CallSample> RecoveryPolls { get; init; }

    public long? RemovedAt { get; init; }

    public long? FirstHitAt { get; init; }

    public required IReadOnlyList<LogRecord> Logs { get; init; }

    public IReadOnlyDictionary<string, int>? PlainErrors { get; init; }

    public string? Problem { get; init; }

    public IEnumerable<CallSample> AllCalls => Phases.SelectMany(static p => p.Samples).Concat(Hold).Concat(RecoveryPolls);

    /// <summary>When the breaker opened (the first unavailable/configuration-problem log line after the fault began).</summary>
    public long? BreakerOpenedAt => Logs.FirstOrDefault(l => l.IsLibrary && l.EventId is 2003 or 2005 && l.Timestamp >= FaultAt)?.Timestamp;

    public long? RecoveredLogAt => RemovedAt is { } removed ? Logs.FirstOrDefault(l => l.IsLibrary && l.EventId == 2004 && l.Timestamp >= removed)?.Timestamp : null;

    public double? RecoverySeconds => RemovedAt is { } removed && FirstHitAt is { } hit ? Math.Max(0, Stopwatch.GetElapsedTime(removed, hit).TotalSeconds) : null;
}

internal sealed class Harness(Settings settings, RedisServer shared)
{
    private readonly Random _random = new(settings.Seed);
    private int _runs;

    public (List<CallSample> Sequential, List<CallSample> Concurrent) Baseline { get; private set; } = ([], []);

    /// <summary>JIT and connection warm-up on the healthy server (not measured), then the loader-only baseline.</summary>
    public async Task WarmUpAndBaselineAsync()
    {
        foreach (var kind in settings.Clients)
        {
            await using var client = Create(kind, new Endpoint(shared.Host, shared.Port, null, false), $"ob:warm:{kind}:");
            if (!await WaitForHitAsync(client, "warm", TimeSpan.FromSeconds(15)))
            {
                throw new InvalidOperationException($"{kind}: no cache hit on the healthy server within 15 s");
            }

            for (int round = 0; round < 3; round++)
            {
                await Load.SequentialAsync((w, i) => Load.CallAsync(client, $"warm-s-{round}-{i}", w, i), 100, null);
                await Load.ConcurrentAsync((w, i) => Load.CallAsync(client, $"warm-c-{round}-{w}-{i}", w, i), settings.Workers, 10, null);
                await Load.SequentialAsync((w, i) => Load.CallAsync(client, $"warm-s-{round}-{i}", w, i), 100, null); // hits
            }
        }

        await Load.SequentialAsync(Load.LoaderOnlyAsync, 50, null);
        Baseline = (
            await Load.SequentialAsync(Load.LoaderOnlyAsync, settings.SequentialCalls, null),
            await Load.ConcurrentAsync(Load.LoaderOnlyAsync, settings.Workers, settings.CallsPerWorker, null));
    }

    public async Task<RunResult> RunAsync(string faultName, ClientKind kind, IReadOnlyList<Mode> modes)
    {
        var definition = Fault.All.Single(f => f.Name == faultName);
        var holdFor = settings.Hold + TimeSpan.FromMilliseconds(_random.NextDouble() * settings.HoldJitter.TotalMilliseconds);
        await using var fault = definition.Create(shared);
        var endpoint = await fault.PrepareAsync();
        string prefix = $"ob:{Interlocked.Increment(ref _runs)}:{faultName}:{kind}:";

        ICacheClient client;
        long faultAt;
        if (fault.FromStart)
        {
            faultAt = Stopwatch.GetTimestamp();
            client = Create(kind, endpoint, prefix);
        }
        else
        {
            client = Create(kind, endpoint, prefix);
            if (!await WaitForHitAsync(client, "connected", TimeSpan.FromSeconds(15)))
            {
                await client.DisposeAsync();
                throw new InvalidOperationException($"{faultName}/{kind}: no cache hit before the fault within 15 s");
            }

            faultAt = Stopwatch.GetTimestamp();
            await fault.InjectAsync();
        }

        try
        {
            var phases = new List<Phase>();
            foreach (var mode in modes)
            {
                long started = Stopwatch.GetTimestamp();
                var samples = mode == Mode.Sequential
                    ? await Load.SequentialAsync(
                        (w, i) => Load.CallAsync(client, $"s-{i}", w, i),
                        kind == ClientKind.Plain ? settings.PlainSequentialCalls : settings.SequentialCalls,
                        kind == ClientKind.Plain ? settings.PlainPhaseBudget : null)
                    : await Load.ConcurrentAsync(
                        (w, i) => Load.CallAsync(client, $"c-{w}-{i}", w, i),
                        settings.Workers,
                        kind == ClientKind.Plain ? settings.PlainCallsPerWorker : settings.CallsPerWorker,
                        kind == ClientKind.Plain ? settings.PlainPhaseBudget : null);
                phases.Add(new Phase(mode, samples, Stopwatch.GetElapsedTime(started)));
            }

            long? invalidatedAt = null;
            if (settings.InvalidateDuringFault && client is BendCareClient bendCare)
            {
                // Remembered for replay (Redis is unreachable); reads skip Redis until it has been replayed.
                invalidatedAt = Stopwatch.GetTimestamp();
                await bendCare.InvalidateAsync("invalidated-during-fault");
            }

            // Keep the fault (and light traffic) for at least the hold time.
            var hold = new List<CallSample>();
            for (int i = 0; Stopwatch.GetElapsedTime(faultAt) < holdFor; i++)
            {
                hold.Add(await Load.CallAsync(client, $"h-{i}", 0, i));
                await Task.Delay(5);
            }

            var polls = new List<CallSample>();
            long? removedAt = null;
            long? firstHitAt = null;
            if (fault.Removable)
            {
                // Traffic goes on while the fault is removed (a restart takes a while): polls start at once.
                var removal = fault.RemoveAsync();
                long pollStart = Stopwatch.GetTimestamp();
                while (Stopwatch.GetElapsedTime(pollStart) < settings.RecoveryCap)
                {
                    var poll = await Load.CallAsync(client, "recovery", 0, polls.Count);
                    polls.Add(poll);
                    if (poll.Hit)
                    {
                        firstHitAt = poll.End;
                        break;
                    }

                    await Task.Delay(5);
                }

                removedAt = await removal;
                if (invalidatedAt is not null && firstHitAt is not null)
                {
                    // Without a connection event the replay runs on the next background tick: wait (bounded) to see it.
                    long waitStart = Stopwatch.GetTimestamp();
                    while (!client.Logs.Any(l => l.IsLibrary && l.EventId == 3005) && Stopwatch.GetElapsedTime(waitStart) < settings.RecoveryCap)
                    {
                        await Task.Delay(5);
                    }
                }
            }

            return new RunResult
            {
                Fault = faultName,
                Client = kind,
                Removal = fault.Removal,
                FromStart = fault.FromStart,
                Startup = client.Startup,
                FaultAt = faultAt,
                HoldFor = holdFor,
                InvalidatedAt = invalidatedAt,
                Phases = phases,
                Hold = hold,
                RecoveryPolls = polls,
                RemovedAt = removedAt,
                FirstHitAt = firstHitAt,
                Logs = client.Logs,
                PlainErrors = (client as PlainClient)?.Errors.ToDictionary(),
            };
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    private ICacheClient Create(ClientKind kind, Endpoint endpoint, string prefix) =>
        kind == ClientKind.BendCare ? BendCareClient.Create(endpoint, prefix, Configure(), settings.Diagnose) : PlainClient.Create(endpoint, prefix);

    private Action<StackExchange.Redis.ConfigurationOptions>? Configure()
    {
        if (!settings.IsExperiment)
        {
            return null;
        }

        return c =>
        {
            if (settings.HeartbeatMs is { } heartbeat)
            {
                c.HeartbeatInterval = TimeSpan.FromMilliseconds(heartbeat);
            }

            if (settings.ReconnectMaxMs is { } max)
            {
                c.ReconnectRetryPolicy = new StackExchange.Redis.ExponentialRetry(250, max);
            }
        };
    }

    /// <summary>Reads one key every ~5 ms until a read is a hit (the loader's value was written back and served).</summary>
    private static async Task<bool> WaitForHitAsync(ICacheClient client, string id, TimeSpan limit)
    {
        long started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < limit)
        {
            if ((await Load.CallAsync(client, id, 0, 0)).Hit)
            {
                return true;
            }

            await Task.Delay(5);
        }

        return false;
    }
}
