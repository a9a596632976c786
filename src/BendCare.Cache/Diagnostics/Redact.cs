using System.Text.RegularExpressions;

namespace BendCare.Cache.Diagnostics;

/// <summary>
/// Keeps identifiers and secrets out of every text the library writes: token ids are shortened, passwords masked.
/// <see cref="ErrorText"/> is the one door through which a client library's error message may enter a log line, the
/// health check's data or the connection check's report.
/// </summary>
internal static partial class Redact
{
    private const int KeptCharacters = 6;
    private const string Mask = "****";

    /// <summary>The first few characters of <paramref name="id"/> and an ellipsis; nothing of a short id.</summary>
    public static string Id(string id) => id.Length <= KeptCharacters ? "…" : string.Concat(id.AsSpan(0, KeptCharacters), "…");

    /// <summary>
    /// <paramref name="text"/> (an exception message, a connect log line) with every key of ours shortened to its type
    /// and the start of its id (StackExchange.Redis names the command and key in many messages: <c>GET
    /// token_bl:&lt;jti&gt;</c>), <paramref name="knownKey"/> replaced wherever it appears (its id may hold characters the
    /// pattern stops at), <c>password=...</c> and the configured <paramref name="password"/> masked, and anything shaped
    /// like a JWT cut to its first characters.
    /// </summary>
    public static string ErrorText(string text, string? password = null, string? knownKey = null)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        if (!string.IsNullOrEmpty(knownKey) && text.Contains(knownKey, StringComparison.Ordinal))
        {
            text = text.Replace(knownKey, Key(knownKey), StringComparison.Ordinal);
        }

        if (!string.IsNullOrEmpty(password))
        {
            text = text.Replace(password, Mask, StringComparison.Ordinal);
        }

        text = KeyPattern().Replace(text, static m => m.Groups["type"].Value + Id(m.Groups["id"].Value));
        text = PasswordPattern().Replace(text, static m => m.Groups["name"].Value + "=" + Mask);
        return JwtPattern().Replace(text, "eyJ…");
    }

    /// <summary>
    /// The first line of <paramref name="text"/>, redacted as by <see cref="ErrorText"/> and shortened to
    /// <paramref name="maxLength"/> characters: how a client's error message is shown in a log line, the connection's
    /// last error and the connection check's report.
    /// </summary>
    public static string FirstLine(string text, string? password, int maxLength, string? knownKey = null) =>
        Diagnostics.ErrorText.FirstLine(ErrorText(text, password, knownKey), maxLength);

    /// <summary>A key of ours as it may be shown: its prefix and type, and the start of its id.</summary>
    public static string Key(string key)
    {
        var match = KeyPattern().Match(key);
        return match.Success ? key[..match.Groups["id"].Index] + Id(key[match.Groups["id"].Index..]) : Id(key);
    }

    [GeneratedRegex(@"(?<type>(?:user_context|role_perms|user_basic|token_bl|jwt_payload|role_users):)(?<id>[^\s,;()\[\]'""]+)", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();

    [GeneratedRegex(@"(?<name>password|pwd|requirepass)\s*[=:]\s*[^\s,;)]+", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPattern();

    [GeneratedRegex(@"eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*)?", RegexOptions.CultureInvariant)]
    private static partial Regex JwtPattern();
}
