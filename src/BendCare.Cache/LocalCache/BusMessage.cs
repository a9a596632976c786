using System.Globalization;
using System.Text;

namespace BendCare.Cache.LocalCache;

/// <summary>The kinds of message on the invalidation channel and on an instance's acknowledgement channel.</summary>
internal enum BusMessageKind
{
    /// <summary>An instance's heartbeat: only its sender reads it (it verifies the sender's subscription).</summary>
    Heartbeat,

    /// <summary>Keys to drop and cache types to flush; every receiver acknowledges it to the sender.</summary>
    Invalidation,

    /// <summary>A receiver processed an invalidation.</summary>
    Ack,
}

/// <summary>
/// One message, as newline-separated text: kind, sender, number, then (for invalidations) pairs of cache type and key,
/// an empty id meaning the whole type (ids, not keys: the channel is one key prefix's). Ids never contain control characters (the public edge rejects them), so a
/// newline can't occur inside a field.
/// </summary>
internal readonly record struct BusMessage(BusMessageKind Kind, string Sender, long Number, IReadOnlyList<(string Type, string? Id)> Targets)
{
    private static readonly (string Type, string? Id)[] NoTargets = [];

    public static BusMessage Heartbeat(string sender, long number) => new(BusMessageKind.Heartbeat, sender, number, NoTargets);

    public static BusMessage Ack(string sender, long number) => new(BusMessageKind.Ack, sender, number, NoTargets);

    public static BusMessage Invalidation(string sender, long number, IReadOnlyList<(string Type, string? Id)> targets) =>
        new(BusMessageKind.Invalidation, sender, number, targets);

    public string Encode()
    {
        var text = new StringBuilder(64);
        text.Append(Kind switch { BusMessageKind.Heartbeat => 'H', BusMessageKind.Invalidation => 'I', _ => 'A' })
            .Append('\n').Append(Sender)
            .Append('\n').Append(Number.ToString(CultureInfo.InvariantCulture));
        foreach (var (type, id) in Targets)
        {
            text.Append('\n').Append(type).Append('\n').Append(id);
        }

        return text.ToString();
    }

    /// <summary>Parses a message; anything else on the channel (a foreign publisher) is ignored.</summary>
    public static bool TryDecode(string? text, out BusMessage message)
    {
        message = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var fields = text.Split('\n');
        if (fields.Length < 3 || fields.Length % 2 == 0 || fields[0].Length != 1
            || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out long number))
        {
            return false;
        }

        var kind = fields[0][0] switch
        {
            'H' => BusMessageKind.Heartbeat,
            'I' => BusMessageKind.Invalidation,
            'A' => BusMessageKind.Ack,
            _ => (BusMessageKind?)null,
        };
        if (kind is null || (kind != BusMessageKind.Invalidation && fields.Length != 3))
        {
            return false;
        }

        var targets = new (string, string?)[(fields.Length - 3) / 2];
        for (int i = 0; i < targets.Length; i++)
        {
            string key = fields[4 + (2 * i)];
            targets[i] = (fields[3 + (2 * i)], key.Length == 0 ? null : key);
        }

        message = new BusMessage(kind.Value, fields[1], number, targets);
        return true;
    }
}
