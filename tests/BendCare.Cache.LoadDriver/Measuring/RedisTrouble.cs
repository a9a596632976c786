using System.Globalization;

namespace BendCare.Cache.LoadDriver.Measuring;

/// <summary>
/// The library's Redis error, timeout and dropped write-back counters, read from the service's <c>/metrics</c>
/// (Prometheus text of the <c>BendCare.Cache</c> meter): a read that timed out is a miss that queried the database.
/// </summary>
internal readonly record struct RedisTrouble(double Errors, double Timeouts, double WriteBacksDropped)
{
    public static RedisTrouble Parse(string prometheusText) => new(
        Sum(prometheusText, "bendcare_cache_redis_errors"),
        Sum(prometheusText, "bendcare_cache_redis_timeouts"),
        Sum(prometheusText, "bendcare_cache_writebacks_dropped"));

    public static RedisTrouble operator -(RedisTrouble later, RedisTrouble earlier) =>
        new(later.Errors - earlier.Errors, later.Timeouts - earlier.Timeouts, later.WriteBacksDropped - earlier.WriteBacksDropped);

    // Sample lines: name{labels} value [timestamp], or name value [timestamp]; every label set of the metric is summed.
    private static double Sum(string text, string metric)
    {
        double sum = 0;
        foreach (string line in text.Split('\n'))
        {
            int labels = line.IndexOf('{', StringComparison.Ordinal);
            int nameEnd = labels >= 0 ? labels : line.IndexOf(' ', StringComparison.Ordinal);
            if (line.StartsWith('#') || nameEnd <= 0)
            {
                continue;
            }

            string name = line[..nameEnd];
            if (name != metric && name != metric + "_total")
            {
                continue;
            }

            int valueStart = labels >= 0 ? line.IndexOf('}', labels) + 1 : nameEnd;
            string[] fields = line[valueStart..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                sum += value;
            }
        }

        return sum;
    }
}
