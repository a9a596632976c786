using System.Globalization;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.Support;

/// <summary>What the server itself counted (<c>INFO commandstats</c>): calls per command, the measurement's own left out.</summary>
public static class CommandStats
{
    /// <summary>Calls per command since the last <c>CONFIG RESETSTAT</c>, without the CONFIG and INFO of the measurement.</summary>
    public static async Task<Dictionary<string, long>> CallsAsync(IServer server)
    {
        var calls = new Dictionary<string, long>();
        foreach (var pair in (await server.InfoAsync("commandstats")).SelectMany(g => g))
        {
            // cmdstat_get:calls=50,usec=...
            string command = pair.Key.Replace("cmdstat_", "", StringComparison.Ordinal);
            if (command is "config|resetstat" or "info" or "config")
            {
                continue;
            }

            calls[command] = long.Parse(pair.Value.Split(',')[0].Split('=')[1], CultureInfo.InvariantCulture);
        }

        return calls;
    }
}
