using System.Globalization;
using System.Text;

namespace BendCare.Cache;

/// <summary>
/// What <see cref="BendCareConnectionCheck.RunAsync"/> found: whether the cache can be used with the configured
/// settings, and what it learned about the server on the way. Never contains the password.
/// </summary>
public sealed record ConnectionCheckResult
{
    /// <summary>The reason given when <c>REDIS_HOST</c> is not set.</summary>
    public const string DisabledReason = "disabled";

    /// <summary>
    /// <see langword="true"/> when the client connected, authenticated, got an answer to PING and could SET, GET
    /// (the same value back) and DEL a probe key. Nothing else decides it: a denied <c>INFO</c> or
    /// <c>ACL WHOAMI</c> (ElastiCache restricts some commands) only leaves the matching details unknown.
    /// </summary>
    public required bool Success { get; init; }

    /// <summary><c>host:port</c> with TLS and user; the password is masked (<c>****</c>), or <c>disabled</c> without a host.</summary>
    public required string Endpoint { get; init; }

    /// <summary>Whether TLS was configured (<c>REDIS_TLS</c>).</summary>
    public required bool Tls { get; init; }

    /// <summary>
    /// The user the connection is authenticated as: the answer of <c>ACL WHOAMI</c>, or when that command is not
    /// available, the configured user (<c>default</c> when none). <see langword="null"/> when the check did not connect.
    /// </summary>
    public string? User { get; init; }

    /// <summary><c>Redis</c>, <c>Valkey</c> (or <c>Garnet</c>) from <c>INFO server</c>; <c>unknown</c> when INFO is not allowed; <see langword="null"/> when the check did not connect.</summary>
    public string? ServerProduct { get; init; }

    /// <summary>The product's own version (<c>valkey_version</c> for Valkey, else <c>redis_version</c>); <see langword="null"/> when INFO is not allowed or the check did not connect.</summary>
    public string? ServerVersion { get; init; }

    /// <summary>Whether the server runs in cluster mode (<c>cluster_enabled:1</c>, or the client detected a cluster); <see langword="null"/> when the check did not connect.</summary>
    public bool? IsCluster { get; init; }

    /// <summary>Round trip of one PING once connected; <see langword="null"/> when PING was not answered.</summary>
    public TimeSpan? PingRoundTrip { get; init; }

    /// <summary>Whether the probe key <c>{KeyPrefix}connection_check:{guid}</c> was written (with a short TTL), read back unchanged and deleted.</summary>
    public bool ProbeRoundTrip { get; init; }

    /// <summary>
    /// Why the check failed, <see langword="null"/> on success: <c>refused</c>, <c>timeout</c>, <c>auth</c>,
    /// <c>tls</c>, <c>dns</c>, <c>permission</c>, <c>disabled</c> (no host configured) or <c>other</c>.
    /// </summary>
    public string? FailureReason { get; init; }

    /// <summary>One line: what worked, or what failed and what to look at.</summary>
    public required string Message { get; init; }

    /// <summary>Things that did not fail the check but are worth knowing (a command the server does not allow).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>
    /// Several lines for a person: endpoint, TLS, user, server, mode, PING, probe, then one verdict line,
    /// <c>OK: message</c> or <c>FAILED (reason): message</c>.
    /// </summary>
    public string ToText()
    {
        var text = new StringBuilder();
        Line(text, "endpoint", Endpoint);
        if (FailureReason == DisabledReason)
        {
            return text.Append(Verdict).ToString();
        }

        Line(text, "tls", Tls ? "on" : "off");
        Line(text, "user", User ?? "-");
        Line(text, "server", ServerProduct is null ? "-" : $"{ServerProduct} {ServerVersion}".TrimEnd());
        Line(text, "mode", IsCluster switch { true => "cluster", false => "standalone", null => "-" });
        Line(text, "ping", PingRoundTrip is { } ping ? string.Create(CultureInfo.InvariantCulture, $"{ping.TotalMilliseconds:0.###} ms") : "-");
        Line(text, "probe", ProbeRoundTrip ? "SET/GET/DEL ok" : PingRoundTrip is null ? "-" : "failed");
        foreach (var note in Notes)
        {
            Line(text, "note", note);
        }

        return text.Append(Verdict).ToString();
    }

    private string Verdict => Success ? $"OK: {Message}" : $"FAILED ({FailureReason}): {Message}";

    private static void Line(StringBuilder text, string name, string value) =>
        text.Append(CultureInfo.InvariantCulture, $"{name + ":",-10}{value}").AppendLine();
}
