namespace BendCare.Cache.Diagnostics;

/// <summary>Shortens error messages for logs and reports: StackExchange.Redis packs a whole status report into them.</summary>
internal static class ErrorText
{
    /// <summary>The first line of <paramref name="message"/>, at most <paramref name="maxLength"/> characters.</summary>
    public static string FirstLine(string message, int maxLength)
    {
        int newline = message.IndexOfAny(['\r', '\n']);
        var line = newline < 0 ? message : message[..newline];
        return line.Length <= maxLength ? line : string.Concat(line.AsSpan(0, maxLength), "…");
    }
}
