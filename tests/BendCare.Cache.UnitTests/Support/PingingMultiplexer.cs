using System.Reflection;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests.Support;

/// <summary>Reports itself connected and answers PING with the latency it was given; nothing else (no Redis behaviour is simulated).</summary>
public class PingingMultiplexer : DispatchProxy
{
    private TimeSpan _latency;

    public static IConnectionMultiplexer Create(TimeSpan latency)
    {
        var multiplexer = Create<IConnectionMultiplexer, PingingMultiplexer>();
        ((PingingMultiplexer)(object)multiplexer)._latency = latency;
        return multiplexer;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        string name = targetMethod!.Name;
        if (name.StartsWith("add_", StringComparison.Ordinal) || name.StartsWith("remove_", StringComparison.Ordinal))
        {
            return null;
        }

        return name switch
        {
            "get_IsConnected" => true,
            "GetDatabase" => PingingDatabase.Create(_latency),
            "GetServers" => Array.Empty<IServer>(),
            "Close" or "Dispose" => null,
            "CloseAsync" => Task.CompletedTask,
            "DisposeAsync" => ValueTask.CompletedTask,
            _ => throw new NotSupportedException(name),
        };
    }
}

public class PingingDatabase : DispatchProxy
{
    private TimeSpan _latency;

    public static IDatabase Create(TimeSpan latency)
    {
        var database = Create<IDatabase, PingingDatabase>();
        ((PingingDatabase)(object)database)._latency = latency;
        return database;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod!.Name switch
    {
        "PingAsync" => Task.FromResult(_latency),
        _ => throw new NotSupportedException(targetMethod.Name),
    };
}
