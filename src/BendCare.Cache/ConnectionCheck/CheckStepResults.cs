using BendCare.Cache.Connection;
using StackExchange.Redis;

namespace BendCare.Cache.ConnectionCheck;

/// <summary>Why a step failed the check: the reason and the one line the report shows.</summary>
internal sealed record CheckFailure(FailureReason Reason, string Message)
{
    /// <summary>The reason as <see cref="ConnectionCheckResult.FailureReason"/> reports it.</summary>
    public string Code => Reason switch
    {
        FailureReason.Refused => "refused",
        FailureReason.Timeout => "timeout",
        FailureReason.Auth => "auth",
        FailureReason.Tls => "tls",
        FailureReason.Dns => "dns",
        FailureReason.Permission => "permission",
        _ => "other",
    };
}

/// <summary>The one connect: a multiplexer to dispose, or why there is none.</summary>
internal sealed record ConnectStep(IConnectionMultiplexer? Multiplexer, CheckFailure? Failure);

/// <summary>PING: its round trip, or why it failed (which ends the check).</summary>
internal sealed record PingStep(TimeSpan? RoundTrip, CheckFailure? Failure);

/// <summary>The user the connection runs as, and a note when that is only the configured one.</summary>
internal sealed record UserStep(string User, string? Note);

/// <summary>What the server is; a note when INFO was not allowed (the product is then <c>unknown</c>).</summary>
internal sealed record ServerStep(string Product, string? Version, bool IsCluster, string? Note);

/// <summary>The probe key's SET/GET/DEL: <see langword="null"/> <see cref="Failure"/> when all three worked.</summary>
internal sealed record ProbeStep(CheckFailure? Failure);
