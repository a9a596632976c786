using System.Globalization;

namespace BendCare.Cache.ConnectionCheck;

/// <summary>
/// Every sentence the connection check writes, in one place: each says what failed and what to look at, in the
/// seed's variable names. <c>at</c> is <c>host:port</c>; a <c>detail</c> is a client's error text already redacted
/// (<see cref="Diagnostics.Redact.FirstLine"/>).
/// </summary>
internal static class ConnectionCheckMessages
{
    public const string Disabled = "REDIS_HOST is not set: the cache is disabled and every read goes to the database";

    public static string Refused(string at) =>
        $"connection refused by {at}: is the server running, and are REDIS_HOST/REDIS_PORT right?";

    public static string Timeout(string at, TimeSpan timeout) =>
        $"no answer from {at} within {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s: a firewall or security group dropping packets, the wrong port, or a server too busy to answer";

    public static string AuthRejected(string at, string user, string serverSaid) =>
        $"{at} rejected the credentials of user '{user}' ({serverSaid}): check REDIS_USERNAME/REDIS_PASSWORD";

    /// <summary>What <see cref="AuthRejected"/> says when no server reply names the cause.</summary>
    public const string AuthenticationFailed = "authentication failed";

    public static string TlsRequired(string at) => $"{at} only accepts TLS connections: set REDIS_TLS=true";

    public static string TlsHandshakeFailed(string at, string detail, string host) =>
        $"TLS handshake with {at} failed ({detail}): the server certificate must be valid for '{host}' and issued by a trusted CA (a private CA: trust it in ConfigureConnection)";

    public static string TlsNoAnswer(string at) =>
        $"TLS handshake with {at} got no answer: does the server serve TLS on this port (or should REDIS_TLS be false)?";

    public static string DnsUnresolved(string host) => $"the host name '{host}' does not resolve (DNS): check REDIS_HOST";

    public static string CommandDenied(string at, string detail) =>
        $"{at} accepted the connection but denied a command the client needs: {detail}";

    public static string ConnectFailed(string at, string detail) => $"could not connect to {at}: {detail}";

    public static string PingFailed(string detail) => $"connected, but PING failed: {detail}";

    public static string ProbeReadBackWrong(string key, bool readNothing) =>
        $"the probe key {key} read back {(readNothing ? "nothing" : "a different value")} right after SET";

    public static string ProbeAlreadyGone(string key) => $"the probe key {key} was already gone at DEL";

    /// <param name="step">The probe command that failed: <c>SET</c>, <c>GET</c> or <c>DEL</c>.</param>
    /// <param name="key">The probe key.</param>
    /// <param name="detail">The redacted error text.</param>
    /// <param name="deniedUnderPrefix">The key prefix when the server denied the command (NOPERM); else <see langword="null"/>.</param>
    public static string ProbeFailed(string step, string key, string detail, string? deniedUnderPrefix) =>
        $"probe {step} of {key} failed: {detail}"
        + (deniedUnderPrefix is null ? "" : $" (the user needs read/write access to keys under '{deniedUnderPrefix}')");

    public static string Succeeded(string product, string? version, bool cluster, TimeSpan ping) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"{(version is null ? $"{product} server" : $"{product} {version}")} ({(cluster ? "cluster" : "standalone")}) answered PING in {ping.TotalMilliseconds:0.###} ms and a probe SET/GET/DEL");

    public static string WhoAmIUnavailable(string detail) => $"ACL WHOAMI not available ({detail}): user shown is the configured one";

    public static string InfoUnavailable(string detail) => $"INFO not available ({detail}): server product and version unknown";
}
