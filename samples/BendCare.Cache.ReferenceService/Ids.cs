using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace BendCare.Cache.ReferenceService;

/// <summary>The ids this service accepts in URLs and bodies (users, roles, permissions, token ids).</summary>
internal static partial class Ids
{
    public const string Rule = "1 to 64 characters: letters, digits, '_', '-', '.' or ':'";

    public static bool IsValid([NotNullWhen(true)] string? id) => id is not null && Pattern().IsMatch(id);

    [GeneratedRegex(@"^[A-Za-z0-9_.:-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
