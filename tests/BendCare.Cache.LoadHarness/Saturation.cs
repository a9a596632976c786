using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using BendCare.Cache.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.LoadHarness;

/// <summary>
/// Library hits with the production defaults (150 ms operation timeout) in three phases: calm; the thread pool blocked
/// (pool work items that each block a pool thread for 200 ms and queue the next: continuations wait for a thread while
/// a redis-server process still answers at once); the CPU busy (dedicated spinning threads). Counts what late
/// continuations must not cause: operations reported as timed out, breaker openings ("Redis cache unavailable") and
/// loader calls (every loader call here is a hit turned into a database query).
/// </summary>
internal static class Saturation
{
    public static async Task RunAsync(RedisServer server, HarnessOptions options)
    {
        var counts = new EventCounts();
        using var provider = Subjects.NewLibrary(server, "sat:", LocalCacheTypes.None, services => services.AddLogging(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(counts)));
        var cache = provider.GetRequiredService<IRbacCache>();
        var connection = ((RedisRbacCache)cache).Engine.Connection;
        var stopwatch = Stopwatch.StartNew();
        while (!connection.IsUsable && stopwatch.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(20);
        }

        string[] ids = Enumerable.Range(0, options.Keys).Select(Data.UserId).ToArray();
        foreach (string id in ids)
        {
            await cache.SetUserContextAsync(Data.UserContext(id));
        }

        // On a cold server a timed-out set's replay can starve under the phases' 32 callers (their loader never
        // yields), and the phases would measure the loader.
        await Subjects.ReadUntilEveryKeyHitsAsync(cache, ids, "saturation seeding");

        using var meters = new CacheCounters();
        long loaderCalls = 0;
        var subject = new Subject<UserContext?>("BendCare.Cache hit, saturated", i => cache.GetUserContextAsync(ids[i], () => Interlocked.Increment(ref loaderCalls), static (count, _) =>
        {
            count();
            return new ValueTask<UserContext?>(Data.UserContext("loaded"));
        }));

        Console.WriteLine("### Saturation: library hits while the CPU and the thread pool are kept busy");
        Console.WriteLine();
        Console.WriteLine($"{options.Callers} callers for {options.SaturationDuration.TotalSeconds:F0} s per phase; pool blocked: {options.PoolHogs} pool items blocking a pool thread for 200 ms each, re-queued; CPU busy: {options.HogThreads} spinning threads; OperationTimeout 150 ms (default)");
        Console.WriteLine();
        Console.WriteLine("| phase | load before | load after | ops | ops/s | p50 µs | p99 µs | p99.9 µs | timeouts | Redis errors | breaker openings | loader calls |");
        Console.WriteLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        await PhaseAsync("calm", subject, options, meters, counts, () => Volatile.Read(ref loaderCalls), Hog.None);
        await PhaseAsync("thread pool blocked", subject, options, meters, counts, () => Volatile.Read(ref loaderCalls), Hog.Pool);
        await PhaseAsync("CPU busy", subject, options, meters, counts, () => Volatile.Read(ref loaderCalls), Hog.Cpu);
        Console.WriteLine();
    }

    private enum Hog
    {
        None,
        Pool,
        Cpu,
    }

    private static async Task PhaseAsync(string phase, Subject subject, HarnessOptions options, CacheCounters meters, EventCounts counts, Func<long> loaderCalls, Hog hog)
    {
        string loadBefore = Report.LoadAverage();
        meters.Reset();
        long loaderBefore = loaderCalls();
        long openingsBefore = counts.Count(2003);
        using var stop = new CancellationTokenSource();
        var hogThreads = new List<Thread>();
        if (hog == Hog.Cpu)
        {
            for (int i = 0; i < options.HogThreads; i++)
            {
                var thread = new Thread(() => Spin(stop.Token)) { IsBackground = true, Name = "hog" };
                thread.Start();
                hogThreads.Add(thread);
            }
        }
        else if (hog == Hog.Pool)
        {
            for (int i = 0; i < options.PoolHogs; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static s => PoolHog(s), stop.Token, preferLocal: false);
            }
        }

        var histogram = Histograms.Create();
        var block = new Block(options.Keys, 0);
        var tasks = new Task<long>[options.Callers];
        var hists = Enumerable.Range(0, options.Callers).Select(_ => Histograms.Create()).ToArray();
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < options.Callers; i++)
        {
            int c = i;
            tasks[i] = Task.Run(() => subject.RunCallerAsync(block, hists[c], c * options.Keys / options.Callers));
        }

        await block.EndAfter(options.SaturationDuration);
        long ops = 0;
        foreach (var t in tasks)
        {
            ops += await t;
        }

        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        stop.Cancel();
        foreach (var thread in hogThreads)
        {
            thread.Join();
        }

        foreach (var h in hists)
        {
            histogram.Add(h);
        }

        Console.WriteLine(
            $"| {phase} | {loadBefore} | {Report.LoadAverage()} | {ops:N0} | {ops / seconds:N0} | {Histograms.PercentileMicros(histogram, 50):F0} | {Histograms.PercentileMicros(histogram, 99):F0} | {Histograms.PercentileMicros(histogram, 99.9):F0} | {meters.Timeouts} | {meters.Errors} | {counts.Count(2003) - openingsBefore} | {loaderCalls() - loaderBefore} |");

        // Let a breaker that opened close again before the next phase (its probe runs every 250 ms).
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    private static void Spin(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Thread.SpinWait(1000);
        }
    }

    private static void PoolHog(CancellationToken stop)
    {
        if (stop.IsCancellationRequested)
        {
            return;
        }

        Thread.Sleep(200);
        ThreadPool.UnsafeQueueUserWorkItem(static s => PoolHog(s), stop, preferLocal: false);
    }

    /// <summary>The library's timeout and error counters, read through a <see cref="MeterListener"/>.</summary>
    private sealed class CacheCounters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _timeouts;
        private long _errors;

        public CacheCounters()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == BendCareCacheDiagnostics.MeterName && instrument.Name is "bendcare.cache.redis.timeouts" or "bendcare.cache.redis.errors")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name == "bendcare.cache.redis.timeouts")
                {
                    Interlocked.Add(ref _timeouts, value);
                }
                else
                {
                    Interlocked.Add(ref _errors, value);
                }
            });
            _listener.Start();
        }

        public long Timeouts => Interlocked.Read(ref _timeouts);

        public long Errors => Interlocked.Read(ref _errors);

        public void Reset()
        {
            Interlocked.Exchange(ref _timeouts, 0);
            Interlocked.Exchange(ref _errors, 0);
        }

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Counts the library's log events by id (2003: "Redis cache unavailable", a breaker opening).</summary>
    private sealed class EventCounts : ILoggerProvider
    {
        private readonly ConcurrentDictionary<int, long> _counts = new();

        public long Count(int eventId) => _counts.TryGetValue(eventId, out long n) ? n : 0;

        public ILogger CreateLogger(string categoryName) => new Counter(this);

        public void Dispose()
        {
        }

        private sealed class Counter(EventCounts owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                owner._counts.AddOrUpdate(eventId.Id, 1, static (_, n) => n + 1);
                if (eventId.Id == 2003)
                {
                    Console.Error.WriteLine(formatter(state, exception));
                }
            }
        }
    }
}
