namespace BendCare.Cache;

/// <summary>
/// The ACL user name and password the library authenticates with, as returned by a credentials provider
/// (<see cref="BendCareCacheOptions.CredentialsProvider"/> or <see cref="IRedisCredentialsProvider"/>). Empty strings
/// mean the same as <see langword="null"/>.
/// </summary>
/// <remarks><see cref="ToString"/> never shows the password.</remarks>
public sealed class RedisCredentials
{
    /// <summary>Creates credentials.</summary>
    /// <param name="username">The ACL user; <see langword="null"/> or empty for the <c>default</c> user.</param>
    /// <param name="password">The password or token (an ElastiCache IAM authentication token, say); <see langword="null"/> or empty for none.</param>
    public RedisCredentials(string? username, string? password)
    {
        Username = string.IsNullOrEmpty(username) ? null : username;
        Password = string.IsNullOrEmpty(password) ? null : password;
    }

    /// <summary>The ACL user; <see langword="null"/> for the <c>default</c> user.</summary>
    public string? Username { get; }

    /// <summary>The password or token; <see langword="null"/> for none. Never logged.</summary>
    public string? Password { get; }

    /// <summary>The user and whether there is a password, never the password itself.</summary>
    public override string ToString() => $"user={Username ?? "default"}, password={(Password is null ? "none" : "****")}";

    internal bool SameAs(RedisCredentials other) =>
        string.Equals(Username, other.Username, StringComparison.Ordinal) && string.Equals(Password, other.Password, StringComparison.Ordinal);
}
