namespace BendCare.Cache.ReferenceService.Database;

/// <summary>The outcome of an edit: applied and committed, the edited row does not exist, or some named items do not.</summary>
internal sealed record EditResult(bool Found, IReadOnlyList<string> Unknown)
{
    public static readonly EditResult Applied = new(true, []);

    public static readonly EditResult NotFound = new(false, []);
}
