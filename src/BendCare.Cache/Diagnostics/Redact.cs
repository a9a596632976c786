namespace BendCare.Cache.Diagnostics;

/// <summary>Shortens identifiers that must not appear whole in logs (token ids).</summary>
internal static class Redact
{
    private const int KeptCharacters = 6;

    public static string Id(string id) => id.Length <= KeptCharacters ? "…" : string.Concat(id.AsSpan(0, KeptCharacters), "…");
}
