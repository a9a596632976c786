using System.Buffers;

namespace BendCare.Cache.Serialization;

/// <summary>
/// A per-thread reusable <see cref="ArrayBufferWriter{T}"/> so serialising a write-back does not grow and discard
/// buffers on every call. Oversized buffers are not kept, so one huge value does not pin memory.
/// </summary>
internal static class PooledBufferWriter
{
    private const int MaxRetainedCapacity = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _threadCache;

    public static ArrayBufferWriter<byte> Rent()
    {
        var writer = _threadCache ?? new ArrayBufferWriter<byte>(1024);
        _threadCache = null;
        return writer;
    }

    public static void Return(ArrayBufferWriter<byte> writer)
    {
        if (writer.Capacity <= MaxRetainedCapacity)
        {
            writer.ResetWrittenCount();
            _threadCache = writer;
        }
    }
}
