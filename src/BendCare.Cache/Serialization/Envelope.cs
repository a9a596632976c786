using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace BendCare.Cache.Serialization;

/// <summary>What a stored Redis string turned out to be.</summary>
internal enum EnvelopeKind
{
    /// <summary>A value written by this format version.</summary>
    Value,

    /// <summary>An invalidation marker: a miss whose exact bytes guard the next write-back.</summary>
    Tombstone,

    /// <summary>Not written by this library, cut short, or otherwise unreadable.</summary>
    Corrupt,

    /// <summary>Written by a later, incompatible format version.</summary>
    Incompatible,
}

/// <summary>
/// The byte layout of every stored entry. A header lets a reader tell a value from a tombstone and from bytes it
/// cannot trust, so a format change or a foreign writer is a miss that heals, never an exception.
/// </summary>
/// <remarks>
/// <code>
/// value:     0xBC  version  'V'  fpLen(0|32)  fingerprint[fpLen]  utf8-json
/// tombstone: 0xBC  version  'T'  16 random bytes (unique per invalidation)
/// </code>
/// </remarks>
internal static class Envelope
{
    internal const byte Magic = 0xBC;
    internal const byte CurrentVersion = 1;
    internal const int FingerprintLength = 32;
    private const byte ValueTag = (byte)'V';
    private const byte TombstoneTag = (byte)'T';
    private const int TombstoneNonceLength = 16;
    private const int ValueHeaderLength = 4;

    /// <summary>Classifies stored bytes and, for a value, returns where its fingerprint and JSON start.</summary>
    public static EnvelopeKind Read(ReadOnlySpan<byte> stored, out ReadOnlySpan<byte> fingerprint, out ReadOnlySpan<byte> json)
    {
        fingerprint = default;
        json = default;
        if (stored.Length < 3 || stored[0] != Magic)
        {
            return EnvelopeKind.Corrupt;
        }

        if (stored[1] != CurrentVersion)
        {
            return stored[1] > CurrentVersion ? EnvelopeKind.Incompatible : EnvelopeKind.Corrupt;
        }

        switch (stored[2])
        {
            case TombstoneTag:
                return stored.Length == 3 + TombstoneNonceLength ? EnvelopeKind.Tombstone : EnvelopeKind.Corrupt;
            case ValueTag when stored.Length >= ValueHeaderLength:
                int fpLength = stored[3];
                if ((fpLength != 0 && fpLength != FingerprintLength) || stored.Length < ValueHeaderLength + fpLength)
                {
                    return EnvelopeKind.Corrupt;
                }

                fingerprint = stored.Slice(ValueHeaderLength, fpLength);
                json = stored[(ValueHeaderLength + fpLength)..];
                return EnvelopeKind.Value;
            default:
                return EnvelopeKind.Corrupt;
        }
    }

    /// <summary>A new tombstone, different from every other one ever written.</summary>
    public static byte[] NewTombstone()
    {
        var bytes = new byte[3 + TombstoneNonceLength];
        bytes[0] = Magic;
        bytes[1] = CurrentVersion;
        bytes[2] = TombstoneTag;
        RandomNumberGenerator.Fill(bytes.AsSpan(3));
        return bytes;
    }

    /// <summary>Serialises a value behind the header, through a pooled buffer, into one exactly sized array.</summary>
    public static byte[] WriteValue<T>(T value, JsonTypeInfo<T> typeInfo, ReadOnlySpan<byte> fingerprint)
    {
        var buffer = PooledBufferWriter.Rent();
        try
        {
            using (var writer = new Utf8JsonWriter(buffer))
            {
                JsonSerializer.Serialize(writer, value, typeInfo);
            }

            int headerLength = ValueHeaderLength + fingerprint.Length;
            var bytes = new byte[headerLength + buffer.WrittenCount];
            bytes[0] = Magic;
            bytes[1] = CurrentVersion;
            bytes[2] = ValueTag;
            bytes[3] = (byte)fingerprint.Length;
            fingerprint.CopyTo(bytes.AsSpan(ValueHeaderLength));
            buffer.WrittenSpan.CopyTo(bytes.AsSpan(headerLength));
            return bytes;
        }
        finally
        {
            PooledBufferWriter.Return(buffer);
        }
    }

    /// <summary>SHA-256 of the raw token's UTF-8 bytes, computed without a heap copy of the token.</summary>
    public static byte[] Fingerprint(string rawToken)
    {
        var hash = new byte[FingerprintLength];
        int maxBytes = System.Text.Encoding.UTF8.GetMaxByteCount(rawToken.Length);
        byte[]? rented = null;
        Span<byte> utf8 = maxBytes <= 1024 ? stackalloc byte[maxBytes] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            int written = System.Text.Encoding.UTF8.GetBytes(rawToken, utf8);
            SHA256.HashData(utf8[..written], hash);
            return hash;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented, clearArray: true); // it held the raw token
            }
        }
    }
}
