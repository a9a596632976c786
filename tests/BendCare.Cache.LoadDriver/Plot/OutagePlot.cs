using System.Globalization;
using System.Security;
using System.Text;
using BendCare.Cache.LoadDriver.Measuring;
using BendCare.Cache.LoadDriver.Runs;

namespace BendCare.Cache.LoadDriver.Plot;

/// <summary>
/// The outage run as a 1200×700 SVG: requests/s and database queries/s over time, the hit rate below, the outage
/// window shaded in both. Turned into a PNG by <see cref="Screenshot"/>.
/// </summary>
internal static class OutagePlot
{
    public const int Width = 1200;
    public const int Height = 700;

    private const double Left = 90;
    private const double Right = Width - 30;
    private const string RequestsColour = "#1f77b4";
    private const string QueriesColour = "#d62728";
    private const string HitRateColour = "#2ca02c";

    public static string Svg(OutageResult run)
    {
        var intervals = run.Intervals.Where(i => i.Seconds > 0).ToList();
        double xMax = Math.Ceiling(run.Ended.TotalSeconds / 5) * 5;
        var requests = intervals.Select(i => (i.To.Elapsed.TotalSeconds, i.RequestsPerSecond)).ToList();
        var queries = intervals.Select(i => (i.To.Elapsed.TotalSeconds, i.QueriesPerSecond)).ToList();
        var hitRate = intervals.Where(i => !double.IsNaN(i.HitRate)).Select(i => (i.To.Elapsed.TotalSeconds, i.HitRate * 100)).ToList();
        var shade = (run.Killed.TotalSeconds, run.Restarted.TotalSeconds);

        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\">"));
        svg.Append(Invariant($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"#ffffff\"/>"));
        Text(svg, Left, 34, 20, "bold", "start", "Reference service under load: Redis killed (kill -9) mid-run, then started again on the same port");
        Text(svg, Left, 58, 14, "normal", "start", Invariant(
            $"{run.Traffic.VirtualUsers} virtual users{(run.Traffic.RequestsPerSecond > 0 ? $" paced at {run.Traffic.RequestsPerSecond:N0} requests/s" : "")}, Zipf s={run.Traffic.ZipfExponent:0.##} over {run.Traffic.Users} users, logins, logouts and admin edits; one service process, SQLite, redis-server"));
        string hitsBack = run.HitsBackAfter is { } back ? Invariant($" · hit rate ≥ 90 % again {back.TotalSeconds:0.0} s after the restart") : "";
        Text(svg, Left, 78, 14, "bold", "start", Invariant(
            $"failed requests: {run.Total.Failures:N0} of {run.Total.Requests:N0} · database queries/s: before {run.Before.QueriesPerSecond:N0}, Redis down {run.During.QueriesPerSecond:N0}, after {run.After.QueriesPerSecond:N0}{hitsBack}"));

        var top = new Panel(100, 420, xMax, NiceCeiling(Math.Max(requests.Concat(queries).Select(p => p.Item2).DefaultIfEmpty(1).Max(), 1), 5));
        top.Draw(svg, shade, "per second", [("requests/s", RequestsColour, requests), ("database queries/s", QueriesColour, queries)]);
        Text(svg, top.X((shade.Item1 + shade.Item2) / 2), top.Top + 18, 13, "bold", "middle", "Redis down");

        var bottom = new Panel(475, 640, xMax, 100);
        bottom.Draw(svg, shade, "hit rate %", [("hit rate, all cache types", HitRateColour, hitRate)]);

        Text(svg, (Left + Right) / 2, 685, 14, "normal", "middle", "seconds since the traffic started (sampled every 0.5 s from /stats)");
        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>The smallest 1, 2 or 5 × 10^k multiple that covers <paramref name="value"/> in about <paramref name="ticks"/> steps.</summary>
    private static double NiceCeiling(double value, int ticks)
    {
        double step = NiceStep(value, ticks);
        return Math.Ceiling(value / step) * step;
    }

    private static double NiceStep(double max, int ticks)
    {
        double raw = Math.Max(max, 1e-9) / ticks;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double normalised = raw / magnitude;
        return (normalised <= 1 ? 1 : normalised <= 2 ? 2 : normalised <= 5 ? 5 : 10) * magnitude;
    }

    private static void Text(StringBuilder svg, double x, double y, int size, string weight, string anchor, string text) =>
        svg.Append(Invariant($"<text x=\"{x:0.#}\" y=\"{y:0.#}\" font-size=\"{size}\" font-weight=\"{weight}\" text-anchor=\"{anchor}\" fill=\"#222\">{SecurityElement.Escape(text)}</text>"));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>One chart: axes with ticks, the shaded window, the lines and their legend.</summary>
    private sealed record Panel(double Top, double Bottom, double XMax, double YMax)
    {
        public double X(double seconds) => Left + seconds / XMax * (Right - Left);

        public double Y(double value) => Bottom - value / YMax * (Bottom - Top);

        public void Draw(StringBuilder svg, (double From, double To) shade, string yTitle, IReadOnlyList<(string Name, string Colour, List<(double X, double Y)> Points)> series)
        {
            svg.Append(Invariant($"<rect x=\"{X(shade.From):0.#}\" y=\"{Top:0.#}\" width=\"{X(shade.To) - X(shade.From):0.#}\" height=\"{Bottom - Top:0.#}\" fill=\"#f4cccc\"/>"));
            double yStep = NiceStep(YMax, 5);
            for (double v = 0; v <= YMax + 1e-9; v += yStep)
            {
                svg.Append(Invariant($"<line x1=\"{Left}\" x2=\"{Right}\" y1=\"{Y(v):0.#}\" y2=\"{Y(v):0.#}\" stroke=\"#ddd\"/>"));
                Text(svg, Left - 8, Y(v) + 4, 12, "normal", "end", v.ToString("N0", CultureInfo.InvariantCulture));
            }

            double xStep = NiceStep(XMax, 10);
            for (double s = 0; s <= XMax + 1e-9; s += xStep)
            {
                svg.Append(Invariant($"<line x1=\"{X(s):0.#}\" x2=\"{X(s):0.#}\" y1=\"{Bottom}\" y2=\"{Bottom + 5}\" stroke=\"#444\"/>"));
                Text(svg, X(s), Bottom + 19, 12, "normal", "middle", s.ToString("0", CultureInfo.InvariantCulture));
            }

            svg.Append(Invariant($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Right - Left}\" height=\"{Bottom - Top}\" fill=\"none\" stroke=\"#444\"/>"));
            svg.Append(Invariant($"<text transform=\"translate({Left - 62:0.#},{(Top + Bottom) / 2:0.#}) rotate(-90)\" font-size=\"13\" text-anchor=\"middle\" fill=\"#222\">{SecurityElement.Escape(yTitle)}</text>"));

            double legendY = Top + 18;
            foreach (var (name, colour, points) in series)
            {
                string path = string.Join(' ', points.Select(p => Invariant($"{X(p.X):0.#},{Y(Math.Min(p.Y, YMax)):0.#}")));
                svg.Append(Invariant($"<polyline points=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>"));
                svg.Append(Invariant($"<line x1=\"{Right - 230}\" x2=\"{Right - 200}\" y1=\"{legendY - 4:0.#}\" y2=\"{legendY - 4:0.#}\" stroke=\"{colour}\" stroke-width=\"3\"/>"));
                Text(svg, Right - 192, legendY, 13, "normal", "start", name);
                legendY += 20;
            }
        }
    }
}
