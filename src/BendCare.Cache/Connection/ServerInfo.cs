using System.Globalization;

namespace BendCare.Cache.Connection;

/// <summary>The server products the library knows by their <c>INFO</c> reply.</summary>
internal enum ServerProduct
{
    Redis,
    Valkey,
    Garnet,
}

/// <summary>
/// A parsed <c>INFO</c> reply: <c># Section</c> headers and <c>name:value</c> lines. Pure (no I/O), so what the
/// connection check and the eviction watch read from a server is tested on captured replies of each product.
/// </summary>
internal sealed class ServerInfo
{
    /// <summary>Where lines before the first <c># Section</c> header go.</summary>
    public const string NoSection = "";

    private readonly Dictionary<string, string> _fields;

    private ServerInfo(Dictionary<string, IReadOnlyDictionary<string, string>> sections, Dictionary<string, string> fields)
    {
        Sections = sections;
        _fields = fields;
    }

    /// <summary>The fields of each section by its name as the header writes it (<c>Server</c>, <c>Stats</c>, ...), ignoring case.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Sections { get; }

    /// <summary>
    /// Valkey also reports <c>redis_version</c> (the Redis API level it is compatible with, 7.2.4) and Garnet reports
    /// one too, so their own fields decide: <c>valkey_version</c> or <c>server_name:valkey</c>, then <c>garnet_version</c>.
    /// </summary>
    public ServerProduct Product =>
        _fields.ContainsKey("valkey_version") || string.Equals(this["server_name"], "valkey", StringComparison.OrdinalIgnoreCase) ? ServerProduct.Valkey
        : _fields.ContainsKey("garnet_version") ? ServerProduct.Garnet
        : ServerProduct.Redis;

    /// <summary>The product's own version (<c>valkey_version</c>, <c>garnet_version</c> or <c>redis_version</c>); <see langword="null"/> when the reply has none.</summary>
    public string? Version => Product switch
    {
        ServerProduct.Valkey => this["valkey_version"] ?? this["redis_version"],
        ServerProduct.Garnet => this["garnet_version"],
        _ => this["redis_version"],
    };

    /// <summary>Whether the server says it runs in cluster mode (<c>cluster_enabled:1</c>).</summary>
    public bool IsClusterEnabled => this["cluster_enabled"] == "1";

    /// <summary>Keys the server evicted since it started (<c>evicted_keys</c> in <c>INFO stats</c>); <see langword="null"/> when not reported.</summary>
    public long? EvictedKeys =>
        long.TryParse(this["evicted_keys"], NumberStyles.None, CultureInfo.InvariantCulture, out long evicted) ? evicted : null;

    /// <summary>The value of <paramref name="field"/> in any section (field names ignore case); <see langword="null"/> when absent.</summary>
    public string? this[string field] => _fields.GetValueOrDefault(field);

    /// <summary>Parses an <c>INFO</c> reply (CRLF or LF line ends). <see langword="null"/> or empty text has no fields.</summary>
    public static ServerInfo Parse(string? infoText)
    {
        var sections = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        Dictionary<string, string>? section = null;
        foreach (string rawLine in (infoText ?? "").Split('\n'))
        {
            string line = rawLine.TrimEnd('\r');
            if (line.StartsWith('#'))
            {
                section = Section(sections, line[1..].Trim());
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                string name = line[..colon];
                string value = line[(colon + 1)..];
                fields[name] = value;
                (section ??= Section(sections, NoSection))[name] = value;
            }
        }

        return new ServerInfo(sections, fields);
    }

    private static Dictionary<string, string> Section(Dictionary<string, IReadOnlyDictionary<string, string>> sections, string name)
    {
        if (sections.TryGetValue(name, out var existing))
        {
            return (Dictionary<string, string>)existing;
        }

        var section = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        sections[name] = section;
        return section;
    }
}
