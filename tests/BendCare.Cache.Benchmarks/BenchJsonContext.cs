using System.Text.Json.Serialization;

namespace BendCare.Cache.Benchmarks;

/// <summary>
/// The hand-written baseline's own source-generated metadata, with the same options as the library's context,
/// so both sides pay exactly the same (reflection-free) deserialisation cost.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UserContext))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;
