using System.ComponentModel;
using System.Globalization;
using System.Text.Json.Serialization;

namespace BendCare.Cache.LoadHarness;

/// <summary>
/// The measured value: a user context of about 560 bytes of JSON (3 roles, 10 permissions, 2 organisations), over a
/// fixed set of keys that callers walk through, so every subject reads the same bytes from the same server.
/// </summary>
internal static class Data
{
    private static readonly string[] Permissions =
    [
        "patients:read:organization", "patients:update:organization", "appointments:read:organization",
        "appointments:create:organization", "invoices:read:organization", "documents:read:organization",
        "documents:create:organization", "staff:read:organization", "reports:read:organization", "reports:export:own",
    ];

    public static UserContext UserContext(string userId) => new()
    {
        UserId = userId,
        RoleIds = [Guid(1), Guid(2), Guid(3)],
        Permissions = Permissions,
        OrganizationIds = [Guid(0x101), Guid(0x102)],
    };

    public static FrozenUserContext Frozen(UserContext value) => new()
    {
        UserId = value.UserId,
        RoleIds = value.RoleIds,
        Permissions = value.Permissions,
        OrganizationIds = value.OrganizationIds,
    };

    public static string UserId(int index) => "u" + index.ToString("D5", CultureInfo.InvariantCulture);

    private static string Guid(int seed) =>
        new Guid(seed, (short)(seed >> 3), (short)(seed >> 5), 0x8a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, (byte)seed).ToString("D", CultureInfo.InvariantCulture);
}

/// <summary>
/// The same shape as <see cref="UserContext"/>, sealed and marked immutable: HybridCache then hands out the instance it
/// holds instead of deserialising a copy on every hit (its fastest L1 path, the anchor for ours).
/// </summary>
[ImmutableObject(true)]
internal sealed class FrozenUserContext
{
    public required string UserId { get; init; }

    public required IReadOnlyList<string> RoleIds { get; init; }

    public required IReadOnlyList<string> Permissions { get; init; }

    public required IReadOnlyList<string> OrganizationIds { get; init; }
}

/// <summary>Source-generated metadata with the library's options, for the baseline and FusionCache's serializer.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UserContext))]
[JsonSerializable(typeof(FrozenUserContext))]
internal sealed partial class HarnessJsonContext : JsonSerializerContext;
