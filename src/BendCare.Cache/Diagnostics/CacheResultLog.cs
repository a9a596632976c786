using System.Collections;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.Diagnostics;

/// <summary>
/// One cache type's hit or miss Debug line. Its message is exactly the seed's text (<c>User context cache hit in
/// Redis</c>), the same for every id, so dashboards that group by message get one row per cache type and result; the id
/// is a structured field of the line's state (<c>userId</c>, <c>roleId</c>, <c>tokenId</c>; token ids shortened by the
/// caller), which the JSON console formatter writes as <c>State.userId</c>.
/// </summary>
/// <remarks>
/// Written the way the <c>[LoggerMessage]</c> generator writes its lines (a state that lists its fields, a static
/// formatter, nothing done unless the level is on), by hand because the generator requires every parameter to appear in
/// the message text (SYSLIB1015).
/// </remarks>
internal sealed class CacheResultLog
{
    private const string OriginalFormat = "{OriginalFormat}";
    private static readonly Func<State, Exception?, string> Format = static (state, _) => state.ToString();

    private readonly EventId _eventId;

    /// <param name="eventId">The stable event id (see <see cref="Log"/>).</param>
    /// <param name="name">The event's name.</param>
    /// <param name="message">The exact text dashboards match.</param>
    /// <param name="idField">The state field that carries the id.</param>
    public CacheResultLog(int eventId, string name, string message, string idField)
    {
        _eventId = new EventId(eventId, name);
        Message = message;
        IdField = idField;
    }

    public int EventId => _eventId.Id;

    public string Message { get; }

    public string IdField { get; }

    public void Write(ILogger logger, string id)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            logger.Log(LogLevel.Debug, _eventId, new State(this, id), null, Format);
        }
    }

    /// <summary>The line's fields: the id, and the message as its own template (it has no placeholder).</summary>
    private readonly struct State(CacheResultLog line, string id) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 2;

        public KeyValuePair<string, object?> this[int index] => index switch
        {
            0 => new(line.IdField, id),
            1 => new(OriginalFormat, line.Message),
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
            yield return this[1];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => line.Message;
    }
}
