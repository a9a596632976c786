using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BendCare.Cache.Serialization;
using BendCare.Cache.UnitTests.Support;

namespace BendCare.Cache.UnitTests;

public class EnvelopeTests
{
    [Fact]
    public void Value_without_fingerprint_round_trips()
    {
        var value = Samples.UserContext();

        byte[] stored = Envelope.WriteValue(value, CacheJsonContext.Default.UserContext, default);

        Assert.Equal(EnvelopeKind.Value, Envelope.Read(stored, out var fingerprint, out var json));
        Assert.True(fingerprint.IsEmpty);
        var read = JsonSerializer.Deserialize(json, CacheJsonContext.Default.UserContext)!;
        Assert.Equal(value.UserId, read.UserId);
        Assert.Equal(value.RoleIds, read.RoleIds);
        Assert.Equal(value.Permissions, read.Permissions);
        Assert.Equal(value.OrganizationIds, read.OrganizationIds);
    }

    [Fact]
    public void Value_with_a_32_byte_fingerprint_round_trips_with_its_fingerprint()
    {
        var value = Samples.JwtPayload();
        byte[] expectedFingerprint = Envelope.Fingerprint("header.body.signature");

        byte[] stored = Envelope.WriteValue(value, CacheJsonContext.Default.JwtPayload, expectedFingerprint);

        Assert.Equal(EnvelopeKind.Value, Envelope.Read(stored, out var fingerprint, out var json));
        Assert.Equal(expectedFingerprint, fingerprint.ToArray());
        var read = JsonSerializer.Deserialize(json, CacheJsonContext.Default.JwtPayload)!;
        Assert.Equal(value.TokenId, read.TokenId);
        Assert.Equal(value.Subject, read.Subject);
        Assert.Equal(value.ExpiresAt, read.ExpiresAt);
        Assert.Equal(value.Claims, read.Claims);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Boolean_value_round_trips(bool value)
    {
        byte[] stored = Envelope.WriteValue(value, CacheJsonContext.Default.Boolean, default);

        Assert.Equal(EnvelopeKind.Value, Envelope.Read(stored, out _, out var json));
        Assert.Equal(value, JsonSerializer.Deserialize(json, CacheJsonContext.Default.Boolean));
    }

    [Fact]
    public void Value_layout_is_magic_version_tag_fingerprint_length_then_json()
    {
        byte[] stored = Envelope.WriteValue(true, CacheJsonContext.Default.Boolean, default);

        Assert.Equal(new byte[] { 0xBC, 1, (byte)'V', 0, (byte)'t', (byte)'r', (byte)'u', (byte)'e' }, stored);
    }

    [Fact]
    public void Json_uses_camel_case_property_names()
    {
        byte[] stored = Envelope.WriteValue(Samples.UserBasic(), CacheJsonContext.Default.UserBasicInfo, default);

        Envelope.Read(stored, out _, out var json);
        string text = Encoding.UTF8.GetString(json);
        Assert.Contains("\"userId\":", text, StringComparison.Ordinal);
        Assert.Contains("\"isActive\":", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Large_values_round_trip_and_the_pooled_buffer_does_not_leak_between_writes()
    {
        var big = Samples.RolePermissions() with { Permissions = Enumerable.Range(0, 10_000).Select(i => $"permission-{i}").ToArray() };
        var small = Samples.RolePermissions() with { Permissions = ["only"] };

        byte[] bigStored = Envelope.WriteValue(big, CacheJsonContext.Default.RolePermissions, default);
        byte[] smallStored = Envelope.WriteValue(small, CacheJsonContext.Default.RolePermissions, default);
        byte[] smallAgain = Envelope.WriteValue(small, CacheJsonContext.Default.RolePermissions, default);

        Envelope.Read(bigStored, out _, out var bigJson);
        Assert.Equal(big.Permissions, JsonSerializer.Deserialize(bigJson, CacheJsonContext.Default.RolePermissions)!.Permissions);
        Envelope.Read(smallStored, out _, out var smallJson);
        Assert.Equal(["only"], JsonSerializer.Deserialize(smallJson, CacheJsonContext.Default.RolePermissions)!.Permissions);
        Assert.Equal(smallStored, smallAgain);
    }

    [Fact]
    public void Tombstone_is_classified_as_tombstone()
    {
        byte[] tombstone = Envelope.NewTombstone();

        Assert.Equal(EnvelopeKind.Tombstone, Envelope.Read(tombstone, out var fingerprint, out var json));
        Assert.True(fingerprint.IsEmpty);
        Assert.True(json.IsEmpty);
        Assert.Equal(new byte[] { 0xBC, 1, (byte)'T' }, tombstone[..3]);
    }

    [Fact]
    public void Tombstones_are_unique()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);

        for (int i = 0; i < 10_000; i++)
        {
            Assert.True(seen.Add(Convert.ToHexString(Envelope.NewTombstone())));
        }
    }

    [Fact]
    public void Random_bytes_are_corrupt()
    {
        var random = new Random(12345);
        for (int i = 0; i < 1_000; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            if (bytes.Length > 0 && bytes[0] == Envelope.Magic)
            {
                bytes[0] = 0;
            }

            Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read(bytes, out _, out _));
        }
    }

    [Fact]
    public void Empty_bytes_are_corrupt() => Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read([], out _, out _));

    [Fact]
    public void Plain_json_written_by_another_client_is_corrupt() =>
        Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read("{\"userId\":\"user-1\"}"u8, out _, out _));

    [Fact]
    public void Wrong_magic_is_corrupt()
    {
        byte[] stored = Envelope.WriteValue(true, CacheJsonContext.Default.Boolean, default);
        stored[0] = 0xBD;

        Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read(stored, out _, out _));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(255)]
    public void Version_higher_than_current_is_incompatible(byte version)
    {
        byte[] stored = Envelope.WriteValue(true, CacheJsonContext.Default.Boolean, default);
        stored[1] = version;

        Assert.Equal(EnvelopeKind.Incompatible, Envelope.Read(stored, out _, out _));
    }

    [Fact]
    public void Tombstone_of_a_higher_version_is_incompatible()
    {
        byte[] tombstone = Envelope.NewTombstone();
        tombstone[1] = Envelope.CurrentVersion + 1;

        Assert.Equal(EnvelopeKind.Incompatible, Envelope.Read(tombstone, out _, out _));
    }

    [Fact]
    public void Version_zero_is_corrupt()
    {
        byte[] stored = Envelope.WriteValue(true, CacheJsonContext.Default.Boolean, default);
        stored[1] = 0;

        Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read(stored, out _, out _));
    }

    [Theory]
    [InlineData(new byte[] { 0xBC })]
    [InlineData(new byte[] { 0xBC, 1 })]
    [InlineData(new byte[] { 0xBC, 1, (byte)'V' })]
    [InlineData(new byte[] { 0xBC, 1, (byte)'V', 32 })]
    [InlineData(new byte[] { 0xBC, 1, (byte)'V', 32, 1, 2, 3 })]
    [InlineData(new byte[] { 0xBC, 1, (byte)'T' })]
    [InlineData(new byte[] { 0xBC, 1, (byte)'T', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 })]
    public void Truncated_header_is_corrupt(byte[] stored) =>
        Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read(stored, out _, out _));

    [Fact]
    public void Value_with_fingerprint_cut_short_is_corrupt()
    {
        byte[] stored = Envelope.WriteValue(Samples.JwtPayload(), CacheJsonContext.Default.JwtPayload, Envelope.Fingerprint("raw"));

        Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read(stored.AsSpan(0, 4 + 31), out _, out _));
    }

    [Fact]
    public void Tombstone_with_extra_bytes_is_corrupt()
    {
        byte[] tombstone = [.. Envelope.NewTombstone(), 0];

        Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read(tombstone, out _, out _));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    public void Fingerprint_length_other_than_0_or_32_is_corrupt(byte length)
    {
        byte[] stored = [0xBC, 1, (byte)'V', length, .. new byte[64], (byte)'1'];

        Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read(stored, out _, out _));
    }

    [Fact]
    public void Unknown_tag_is_corrupt() =>
        Assert.Equal(EnvelopeKind.Corrupt, Envelope.Read([0xBC, 1, (byte)'X', 0, (byte)'1'], out _, out _));

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(340)]
    [InlineData(341)]
    [InlineData(1025)]
    [InlineData(8000)]
    public void Fingerprint_is_the_SHA256_of_the_raw_tokens_UTF8_bytes(int length)
    {
        string token = string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))));

        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(token)), Envelope.Fingerprint(token));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(2000)]
    public void Fingerprint_of_non_ASCII_tokens_is_the_SHA256_of_their_UTF8_bytes(int repeat)
    {
        string token = string.Concat(Enumerable.Repeat("é€😀", repeat));

        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(token)), Envelope.Fingerprint(token));
    }

    [Fact]
    public void Fingerprint_of_the_empty_string_is_the_SHA256_of_nothing() =>
        Assert.Equal(SHA256.HashData([]), Envelope.Fingerprint(""));

    [Fact]
    public void Fingerprints_of_different_tokens_differ() =>
        Assert.NotEqual(Envelope.Fingerprint("header.body.sig-a"), Envelope.Fingerprint("header.body.sig-b"));
}
