using System.Text.Json;
using Xunit;

namespace BendCare.Cache.IntegrationTests.Support;

/// <summary>Structural equality for the models (records holding lists compare lists by reference).</summary>
public static class Same
{
    public static void Value(object? expected, object? actual) =>
        Assert.Equal(Canonical(expected), Canonical(actual));

    public static string Canonical(object? value) => value is null ? "null" : JsonSerializer.Serialize(value, value.GetType());
}
