using System.Text.Json.Serialization;

namespace BendCare.Cache.Serialization;

/// <summary>
/// Source-generated System.Text.Json metadata for every cached type: no reflection at run time, trimming/AOT safe.
/// Property names are camelCase so entries stay readable with <c>redis-cli GET</c>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(UserContext))]
[JsonSerializable(typeof(RolePermissions))]
[JsonSerializable(typeof(UserBasicInfo))]
[JsonSerializable(typeof(JwtPayload))]
[JsonSerializable(typeof(bool))]
internal sealed partial class CacheJsonContext : JsonSerializerContext;
