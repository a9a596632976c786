using BendCare.Cache.Diagnostics;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>What the client reports: connections lost and restored, topology changes, slots moved.</summary>
internal sealed partial class RedisConnection
{
    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Interactive)
        {
            return;
        }

        // A cluster replica's connection serves none of our keys: its loss opens nothing.
        if (_breakers.ForEndpoint(e.EndPoint) is not { } breaker)
        {
            return;
        }

        var reason = FailureClassifier.Classify(e.FailureType, e.Exception);
        _failures.RecordConnectionFailure(reason, e.FailureType, e.Exception);
        breaker.Trip();
        if (reason == FailureReason.Auth)
        {
            OnCredentialsRejected();
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Interactive)
        {
            return;
        }

        var multiplexer = _multiplexer;
        if (multiplexer is not null)
        {
            RebuildRouting(multiplexer);
        }

        MarkConnected(multiplexer);
        AllowProbesNow();
        OnTick();
    }

    /// <summary>
    /// A replica was promoted or slots moved (a cluster failover): the dead node stays dead, so no "restored" event
    /// comes. Route by the new topology and probe now rather than wait out a back-off that began before the promotion.
    /// </summary>
    private void OnTopologyChanged(object? sender, EndPointEventArgs e)
    {
        if (_multiplexer is { } multiplexer)
        {
            RebuildRouting(multiplexer, force: true);
        }

        AllowProbesNow();
        OnTick();
    }

    private void OnHashSlotMoved(object? sender, HashSlotMovedEventArgs e)
    {
        _breakers.MoveSlot(e.HashSlot, e.NewEndPoint);
        AllowProbesNow();
        OnTick();
    }

    private void RebuildRouting(IConnectionMultiplexer multiplexer, bool force = false)
    {
        if (_breakers.Rebuild(multiplexer, force))
        {
            // A breaker of a primary that lost its slots may have dropped out while open.
            OnBreakerClosed();
        }
    }

    private void AllowProbesNow()
    {
        foreach (var (_, breaker) in _breakers.All)
        {
            breaker.AllowProbeNow();
        }
    }

    private void MarkConnected(IConnectionMultiplexer? multiplexer)
    {
        if (_firstConnected.TrySetResult())
        {
            Log.Connected(_logger, Endpoint, ServerDescription(multiplexer));
        }
    }

    private static string ServerDescription(IConnectionMultiplexer? multiplexer)
    {
        try
        {
            var server = multiplexer?.GetServers().FirstOrDefault(s => s.IsConnected);
            return server is null ? "unknown server" : $"{server.ServerType} {server.Version}";
        }
        catch (Exception ex) when (ex is RedisException or InvalidOperationException or NotSupportedException)
        {
            return "unknown server";
        }
    }
}
