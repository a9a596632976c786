using System.Diagnostics;
using BendCare.Cache.LoadDriver.Hosting;
using BendCare.Cache.LoadDriver.Measuring;
using BendCare.Cache.LoadDriver.Traffic;

namespace BendCare.Cache.LoadDriver.Runs;

/// <summary>Where the service and its cache come from: a given Redis and a given service dll, or the driver's own.</summary>
internal sealed record HostOptions
{
    /// <summary><c>host:port[,password=..]</c> of a Redis to use instead of starting one (not for the outage run).</summary>
    public string? RedisEndpoint { get; init; }

    /// <summary>The service's dll; <see langword="null"/>: the one built with the driver.</summary>
    public string? ServiceAssembly { get; init; }

    /// <summary>
    /// More settings for the service, as environment variables (e.g. <c>BendCareCache__TokenNotBlacklistedTtl=00:05:00</c>),
    /// given to both modes.
    /// </summary>
    public IReadOnlyDictionary<string, string> ServiceSettings { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>One service process (cache on or off), its Redis when on, and the traffic against it, primed and running.</summary>
internal sealed class LoadSession : IAsyncDisposable
{
    private readonly Stopwatch _clock = new();
    private bool _running;

    private LoadSession(CacheServer? cache, ServiceProcess service, TrafficRun traffic)
    {
        Cache = cache;
        Service = service;
        Api = new ServiceApi(service.Client);
        Traffic = traffic;
    }

    public CacheServer? Cache { get; }

    public ServiceProcess Service { get; }

    public ServiceApi Api { get; }

    public TrafficRun Traffic { get; }

    /// <summary>Time since the traffic started (after priming).</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>"cache on" or "cache off".</summary>
    public string Mode => Cache is null ? "cache off" : "cache on";

    /// <summary>Starts Redis (when on), the service and the traffic; returns with the traffic running after priming.</summary>
    public static async Task<LoadSession> StartAsync(bool cacheOn, TrafficOptions traffic, HostOptions host, TextWriter progress, CancellationToken cancellationToken)
    {
        CacheServer? cache = null;
        ServiceProcess? service = null;
        try
        {
            if (cacheOn)
            {
                cache = host.RedisEndpoint is { } endpoint ? CacheServer.Given(endpoint) : await CacheServer.StartOwnAsync(cancellationToken);
            }

            service = await ServiceProcess.StartAsync(cache, host.ServiceAssembly, host.ServiceSettings, cancellationToken);
            var session = new LoadSession(cache, service, new TrafficRun(new ServiceApi(service.Client), traffic));
            progress.WriteLine($"[{session.Mode}] service on {service.Address}{(cache is null ? "" : $", Redis: {cache}")}; priming {traffic.Users} users ...");
            var priming = Stopwatch.StartNew();
            await session.Traffic.PrimeAsync(cancellationToken);
            progress.WriteLine($"[{session.Mode}] primed in {priming.Elapsed.TotalSeconds:0.0} s; traffic: {traffic.Describe()}");
            session.Traffic.Start();
            session._clock.Start();
            session._running = true;
            return session;
        }
        catch
        {
            if (service is not null)
            {
                await service.DisposeAsync();
            }

            if (cache is not null)
            {
                await cache.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>The service's <c>/stats</c> and <c>/metrics</c> and the driver's counts, now.</summary>
    public async Task<Snapshot> SnapshotAsync(bool withMetrics, CancellationToken cancellationToken)
    {
        var elapsed = Elapsed;
        var driver = Traffic.Outcomes.Snapshot();
        var stats = await Api.StatsAsync(cancellationToken);
        var trouble = withMetrics ? RedisTrouble.Parse(await Api.MetricsAsync(cancellationToken)) : default;
        return new Snapshot(elapsed, stats, driver, trouble);
    }

    /// <summary>Stops the traffic (requests in flight finish).</summary>
    public async Task StopTrafficAsync()
    {
        if (_running)
        {
            _running = false;
            await Traffic.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopTrafficAsync();
        await Service.DisposeAsync();
        if (Cache is not null)
        {
            await Cache.DisposeAsync();
        }
    }
}
