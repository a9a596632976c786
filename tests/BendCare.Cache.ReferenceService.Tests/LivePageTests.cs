using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.ReferenceService.Tests.Support;
using Xunit.Abstractions;

namespace BendCare.Cache.ReferenceService.Tests;

/// <summary>
/// The live page, as a person opens it: a real browser on the service's real loopback port while requests flow. The
/// charts must be drawn (SVG series with points) from the live <c>/stats</c>, not a table of numbers.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed partial class LivePageTests(SharedRedisFixture redis, ITestOutputHelper output) : IDisposable
{
    // Plot areas (see the page's MARGIN and viewBox): y=12 is the top (100 % hit rate), y=196 the zero line of the
    // 220 px high database chart.
    private const double TopY = 12.0;
    private const double DatabaseChartZeroY = 196.0;

    private readonly TempDatabase _database = new();

    [Fact]
    public async Task The_live_page_draws_hit_rate_and_query_rate_charts_from_live_stats_in_headless_chromium()
    {
        // Fails (never skips) without a browser: test.sh and .ci/run install Debian's chromium.
        string chromium = HeadlessChromium.Find()
            ?? throw new InvalidOperationException("chromium not found (/usr/bin/chromium or on PATH): install it with 'apt-get install -y chromium'; test.sh and .ci/run do.");
        await using var service = ServiceInstance.Start(TestSettings.For(redis.Server, SharedRedisFixture.NewKeyPrefix(), _database), kestrel: true);
        string token = await service.LoginAsync("u17");
        await service.ServeFromCacheAsync("/reports", token, HttpStatusCode.OK);

        // Traffic while the page polls, so each of its samples sees reads; bounded in time, stopped when the page is read.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        // Two callers: the page's polls come quickly one after another on its virtual clock, and each interval should see reads.
        var traffic = Task.WhenAll(Task.Run(() => SendUntilStoppedAsync(service, token, stop.Token)), Task.Run(() => SendUntilStoppedAsync(service, token, stop.Token)));
        string dom;
        try
        {
            dom = await HeadlessChromium.DumpDomAsync(chromium, new Uri(service.Address!, "/"), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(60));
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
        }

        string hitRate = Chart(dom, "hit-rate-chart");
        string database = Chart(dom, "database-chart");
        output.WriteLine(hitRate);
        output.WriteLine(database);
        Assert.True(int.Parse(Attribute(database, "data-samples"), CultureInfo.InvariantCulture) >= 3, "fewer than three samples drawn");
        Assert.True(Points(database, "requests") >= 3, "the requests/s series has fewer than three points");
        Assert.True(Points(database, "queries") >= 3, "the queries/s series has fewer than three points");
        Assert.Contains(Ys(database, "requests"), y => y < DatabaseChartZeroY); // a request rate above zero
        Assert.True(Points(hitRate, "user_context") >= 1, "no user context hit rate drawn");
        Assert.Contains(TopY, Ys(hitRate, "user_context")); // warmed: the hit rate is 100 %
        Assert.Equal("redis", Text(dom, "mode"));
        Assert.True(long.Parse(Text(dom, "requests"), CultureInfo.InvariantCulture) >= 3, "the page shows no requests served");
    }

    public void Dispose() => _database.Dispose();

    private static async Task SendUntilStoppedAsync(ServiceInstance service, string token, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                Assert.Equal(HttpStatusCode.OK, await service.StatusOfAsync("/reports", token));
                await Task.Delay(1, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private static string Chart(string dom, string id)
    {
        var match = Regex.Match(dom, $"<svg id=\"{id}\"[^>]*>.*?</svg>", RegexOptions.Singleline);
        Assert.True(match.Success, $"no <svg id=\"{id}\"> in the page");
        return match.Value;
    }

    private static string Attribute(string element, string name) =>
        Regex.Match(element, $"{name}=\"([^\"]*)\"").Groups[1].Value;

    private static int Points(string chart, string series)
    {
        var match = Regex.Match(chart, $"<g class=\"series\" data-series=\"{series}\" data-points=\"(\\d+)\">");
        Assert.True(match.Success, $"no series {series} in the chart");
        return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The y coordinates of a series' points (polylines and single-point circles).</summary>
    private static List<double> Ys(string chart, string series)
    {
        var group = Regex.Match(chart, $"<g class=\"series\" data-series=\"{series}\"[^>]*>(.*?)</g>", RegexOptions.Singleline).Groups[1].Value;
        return [.. SeriesPoint().Matches(group).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
    }

    private static string Text(string dom, string id) =>
        Regex.Match(dom, $"id=\"{id}\"[^>]*>([^<]*)<").Groups[1].Value;

    // A polyline's "x,y" pairs and a circle's cy.
    [GeneratedRegex("(?:[0-9.]+,|cy=\")([0-9.]+)")]
    private static partial Regex SeriesPoint();
}
