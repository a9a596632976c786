namespace BendCare.Cache.Diagnostics;

/// <summary>The operations that have a span of their own; a span is named <c>{operation} {cache.type}</c>.</summary>
internal enum TracedOperation
{
    Get,
    Set,
    Invalidate,
    InvalidateMany,
    Blacklist,
    FanOut,
    WriteBack,
}

/// <summary>The operation part of span names: lower case, OpenTelemetry style (<c>get user_context</c>).</summary>
internal static class SpanNames
{
    public static string Of(TracedOperation operation) => operation switch
    {
        TracedOperation.Get => "get",
        TracedOperation.Set => "set",
        TracedOperation.Invalidate => "invalidate",
        TracedOperation.InvalidateMany => "invalidate_many",
        TracedOperation.Blacklist => "blacklist",
        TracedOperation.FanOut => "fan_out",
        _ => "write_back",
    };
}
