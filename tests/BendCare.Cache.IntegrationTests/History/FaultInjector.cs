using System.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>
/// Applies the scheduled faults: per instance proxy (delay, blackhole, reset, then pass), on the server (kill -9 and
/// restart), and corrupt data written straight to the server through an admin connection (a value key, the epoch,
/// a role's member index). Records each one with its start and end.
/// </summary>
public sealed class FaultInjector(RedisServer server, IReadOnlyList<TcpFaultProxy> proxies, IDatabase admin, string keyPrefix, HistoryRecorder recorder)
{
    /// <summary>Applies <paramref name="operation"/> and records it.</summary>
    public async Task ApplyAsync(ScheduledOperation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var record = new FaultRecord { Operation = operation, Start = Stopwatch.GetTimestamp() };
        try
        {
            switch (operation.Kind)
            {
                case OperationKind.ProxyFault:
                    var proxy = proxies[operation.Instance];
                    switch (operation.FaultMode)
                    {
                        case ProxyMode.Delay:
                            proxy.Delay(TimeSpan.FromMilliseconds(operation.FaultDelayMs));
                            break;
                        case ProxyMode.Blackhole:
                            proxy.Blackhole();
                            break;
                        default:
                            proxy.Reset();
                            proxy.DropAll(); // reset mode only bites on new connections
                            break;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(operation.DurationMs));
                    proxy.Pass();
                    break;

                case OperationKind.ServerKill:
                    await server.KillAsync();
                    await Task.Delay(TimeSpan.FromMilliseconds(operation.DurationMs));
                    await server.RestartAsync();
                    break;

                case OperationKind.CorruptValue:
                    await admin.StringSetAsync(keyPrefix + operation.Key.RedisName, operation.Garbage);
                    break;

                case OperationKind.CorruptEpoch:
                    await admin.StringSetAsync(keyPrefix + "rbac_epoch", "not-a-number");
                    break;

                case OperationKind.CorruptRoleUsers:
                    // Type-agnostic: whatever the index is (set, sorted set), it becomes a string or a list.
                    string key = keyPrefix + "role_members:" + operation.Key.Id;
                    await admin.KeyDeleteAsync(key);
                    if (operation.AsList)
                    {
                        await admin.ListRightPushAsync(key, [(RedisValue)"u0", (RedisValue)operation.Garbage]);
                    }
                    else
                    {
                        await admin.StringSetAsync(key, operation.Garbage);
                    }

                    break;

                case OperationKind.SubscriptionKill:
                    await admin.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
                    break;

                case OperationKind.PubSubOverflow:
                    await admin.ExecuteAsync("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64 64 0");
                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(operation.DurationMs));
                    }
                    finally
                    {
                        await admin.ExecuteAsync("CONFIG", "SET", "client-output-buffer-limit", "pubsub 33554432 8388608 60");
                    }

                    break;
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
        {
            record.Failure = ex.GetType().Name + ": " + ex.Message;
        }
        finally
        {
            record.End = Stopwatch.GetTimestamp();
            recorder.Add(record);
        }
    }
}
