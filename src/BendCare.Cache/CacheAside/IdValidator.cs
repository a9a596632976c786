namespace BendCare.Cache.CacheAside;

/// <summary>The id rules of the public API, checked before any I/O.</summary>
internal static class IdValidator
{
    public const int MaxLength = 512;

    public static void Validate(string? id, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(id, parameterName);
        if (id.Length == 0)
        {
            throw new ArgumentException("The id must not be empty.", parameterName);
        }

        if (id.Length > MaxLength)
        {
            throw new ArgumentException($"The id must be at most {MaxLength} characters long (got {id.Length}).", parameterName);
        }

        bool allWhitespace = true;
        foreach (char c in id)
        {
            if (char.IsControl(c))
            {
                throw new ArgumentException("The id must not contain control characters.", parameterName);
            }

            allWhitespace &= char.IsWhiteSpace(c);
        }

        if (allWhitespace)
        {
            throw new ArgumentException("The id must not be whitespace only.", parameterName);
        }
    }
}
