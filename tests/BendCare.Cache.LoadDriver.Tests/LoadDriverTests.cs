using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.LoadDriver.Runs;
using BendCare.Cache.LoadDriver.Traffic;

namespace BendCare.Cache.LoadDriver.Tests;

/// <summary>
/// The load driver as a person runs it, for a few seconds: the built reference service in a process of its own, real
/// HTTP, a real Redis (the suite's server chain: redis-server from PATH in CI), the figures read from <c>/stats</c>.
/// </summary>
public sealed class LoadDriverTests
{
    // Short enough for CI; the traffic keeps its shape (popularity, logins and logouts, edits every 2 s).
    private static readonly TrafficOptions Traffic = new()
    {
        VirtualUsers = 8,
        Users = 300,
        UserEditEvery = TimeSpan.FromSeconds(2),
        RoleEditEvery = TimeSpan.FromSeconds(3),
        MeanSession = TimeSpan.FromSeconds(30),
    };

    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Measure = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task With_the_cache_on_requests_make_far_fewer_database_queries_than_with_it_off_and_none_fails()
    {
        await using var redis = await RedisServer.StartAsync();
        var host = new HostOptions
        {
            RedisEndpoint = redis.Password is null ? redis.EndPointText : $"{redis.EndPointText},password={redis.Password}",
            // The tests share two cores with other test runs: a busy moment must not open the breaker and turn hits
            // into queries (the library's outage tests cover the 150 ms default; the figures in the docs use it).
            ServiceSettings = new Dictionary<string, string> { ["BendCareCache__OperationTimeout"] = "00:00:01" },
        };

        var off = await CompareRun.MeasureAsync(cacheOn: false, Traffic, host, Warmup, Measure, TextWriter.Null, CancellationToken.None);
        var on = await CompareRun.MeasureAsync(cacheOn: true, Traffic, host, Warmup, Measure, TextWriter.Null, CancellationToken.None);

        Assert.True(off.Total.Failures == 0, $"cache off: {off.Total.Failures} failed requests: {string.Join("; ", off.FailureSamples)}");
        Assert.True(on.Total.Failures == 0, $"cache on: {on.Total.Failures} failed requests: {string.Join("; ", on.FailureSamples)}");
        Assert.True(off.Window.Requests > 100 && on.Window.Requests > 100, $"too few requests measured: off {off.Window.Requests}, on {on.Window.Requests}");
        Assert.Equal("off", off.Window.To.Stats.CacheMode);
        Assert.Equal("redis", on.Window.To.Stats.CacheMode);
        // Without the cache every protected GET costs up to three queries (the blacklist, the token's record, the user context).
        Assert.True(off.Window.QueriesPerRequest > 1, $"cache off: {off.Window.QueriesPerRequest:0.000} queries per request");
        Assert.True(
            on.Window.QueriesPerRequest < 0.2 * off.Window.QueriesPerRequest,
            $"cache on: {on.Window.QueriesPerRequest:0.000} queries per request, cache off: {off.Window.QueriesPerRequest:0.000}");
        Assert.True(on.Window.Driver.Logins > 0 && on.Window.Driver.UserEdits > 0, $"the traffic had no logins or edits: {on.Window.Driver}");
    }

    [Fact]
    public void Zipf_popularity_with_s_1_gives_the_top_user_about_13_percent_of_1000()
    {
        var zipf = new ZipfSampler(1000, 1.0);
        var random = new Random(7);
        int top = 0;
        const int Draws = 200_000;
        for (int i = 0; i < Draws; i++)
        {
            if (zipf.Next(random) == 0)
            {
                top++;
            }
        }

        Assert.InRange(zipf.Share(0), 0.133, 0.134); // 1 / H(1000), H(1000) = 7.485
        Assert.InRange((double)top / Draws, 0.128, 0.139);
        Assert.True(zipf.Share(999) < zipf.Share(0) / 900);
    }

    [Fact]
    public void The_model_knows_the_seed_roles_and_permissions_of_the_reference_service()
    {
        var model = new RbacModel();

        Assert.Equal([4, 11, 17], model.RolesOf(17).Order()); // the README's example: u17 holds r4, r11, r17
        Assert.Equal([3], model.RolesOf(3));
        Assert.False(model.Allows(3, "reports:read")); // u3: front desk only
        Assert.True(model.Allows(17, "billing:read") is false && model.Allows(17, "reports:read"));
    }
}
