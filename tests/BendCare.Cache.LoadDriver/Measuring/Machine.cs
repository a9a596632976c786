namespace BendCare.Cache.LoadDriver.Measuring;

/// <summary>How busy the machine is: the figures are only as good as the cores they had.</summary>
internal static class Machine
{
    /// <summary>The 1, 5 and 15 minute load averages from <c>/proc/loadavg</c> ("n/a" elsewhere), with the core count.</summary>
    public static string LoadAverage()
    {
        try
        {
            string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{fields[0]} {fields[1]} {fields[2]} ({Environment.ProcessorCount} cores)";
        }
        catch (IOException)
        {
            return $"n/a ({Environment.ProcessorCount} cores)";
        }
    }
}
