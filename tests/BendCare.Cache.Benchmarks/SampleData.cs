using System.Globalization;

namespace BendCare.Cache.Benchmarks;

/// <summary>A realistic user context: 5 roles, 30 permissions, 3 organisations (about 1.3 KB of JSON).</summary>
internal static class SampleData
{
    private static readonly string[] Resources = ["patients", "appointments", "invoices", "documents", "staff", "reports"];
    private static readonly string[] Actions = ["read", "create", "update", "delete", "export"];

    public static UserContext UserContext(string userId) => new()
    {
        UserId = userId,
        RoleIds = Enumerable.Range(1, 5).Select(static i => Guid(0x1000 + i)).ToList(),
        Permissions = Resources.SelectMany(static r => Actions.Select(a => $"{r}:{a}:organization")).ToList(),
        OrganizationIds = Enumerable.Range(1, 3).Select(static i => Guid(0x2000 + i)).ToList(),
    };

    private static string Guid(int seed) =>
        new Guid(seed, (short)(seed >> 3), (short)(seed >> 5), 0x8a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, (byte)seed).ToString("D", CultureInfo.InvariantCulture);
}
