using System.Reflection;
using StackExchange.Redis;

namespace BendCare.Cache.UnitTests.Support;

/// <summary>
/// A multiplexer that reports itself connected and does nothing else: it only lets <c>RedisConnection</c> reach the
/// state where it runs operations, so the operations' outcomes (supplied by the test) exercise its breaker accounting.
/// No Redis behaviour is simulated; any other member throws.
/// </summary>
public class InertMultiplexer : DispatchProxy
{
    public static IConnectionMultiplexer Create() => Create<IConnectionMultiplexer, InertMultiplexer>();

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
            "GetDatabase" => Create<IDatabase, InertDatabase>(),
            "CloseAsync" => Task.CompletedTask,
            "Dispose" => null,
            "DisposeAsync" => ValueTask.CompletedTask,
            _ => throw new NotSupportedException(name),
        };
    }
}

public class InertDatabase : DispatchProxy
{
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => throw new NotSupportedException(targetMethod!.Name);
}
