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

        // The usual id (a GUID, a number, an ASCII name) is printable ASCII without spaces: valid, checked vectorised.
        if (!id.AsSpan().ContainsAnyExceptInRange('!', '~'))
        {
            return;
        }

        bool allWhitespace = true;
        for (int i = 0; i < id.Length; i++)
        {
            char c = id[i];
            if (char.IsControl(c))
            {
                throw new ArgumentException("The id must not contain control characters.", parameterName);
            }

            if (c is '\u2028' or '\u2029')
            {
                throw new ArgumentException("The id must not contain line or paragraph separators.", parameterName);
            }

            // An unpaired surrogate becomes U+FFFD in UTF-8, so two different ids would share one key.
            if (char.IsSurrogate(c))
            {
                if (!char.IsHighSurrogate(c) || i + 1 == id.Length || !char.IsLowSurrogate(id[i + 1]))
                {
                    throw new ArgumentException("The id must not contain unpaired surrogate characters.", parameterName);
                }

                i++;
                allWhitespace = false;
                continue;
            }

            allWhitespace &= char.IsWhiteSpace(c);
        }

        if (allWhitespace)
        {
            throw new ArgumentException("The id must not be whitespace only.", parameterName);
        }
    }
}
