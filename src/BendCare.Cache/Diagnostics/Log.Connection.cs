using Microsoft.Extensions.Logging;

namespace BendCare.Cache.Diagnostics;

/// <summary>Credentials that rotate, connections renewed for them, and connections the application owns.</summary>
internal static partial class Log
{
    internal const int CredentialsProviderFailedId = 2011;
    internal const int ConnectionRenewedId = 2012;
    internal const int ApplicationConnectionNotReplacedId = 2013;
    internal const int ProbeAnsweredSlowlyId = 2014;

    [LoggerMessage(CredentialsProviderFailedId, LogLevel.Error, "Redis cache could not get credentials for {Endpoint} from its credentials provider: requests use the database while no connection works, and the provider is asked again later. Last error: {LastError}")]
    public static partial void CredentialsProviderFailed(ILogger logger, string endpoint, string? lastError);

    [LoggerMessage(ConnectionRenewedId, LogLevel.Information, "Redis cache connection to {Endpoint} is being replaced by a new one: {Reason}")]
    public static partial void ConnectionRenewed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(ApplicationConnectionNotReplacedId, LogLevel.Warning, "Redis cache connection to {Endpoint} has failed for {Seconds:F0} s, but it was supplied by the application (UseConnection): the library cannot replace a connection it does not own. Requests use the database until that connection recovers; if it stays broken, the application must replace it")]
    public static partial void ApplicationConnectionNotReplaced(ILogger logger, string endpoint, double seconds);

    [LoggerMessage(ProbeAnsweredSlowlyId, LogLevel.Debug, "Redis cache breaker for {Endpoint} closes primed: the probe's PING was answered in {Milliseconds:F0} ms, more than half the operation timeout, so one failure reopens it")]
    public static partial void ProbeAnsweredSlowly(ILogger logger, string endpoint, double milliseconds);
}
