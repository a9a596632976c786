using BendCare.Cache;

namespace ConsumerTest;

/// <summary>
/// The names the README's and the package README's C# snippets use without declaring them, as a service has them.
/// run.sh turns each snippet's statements into a method with these as its parameters.
/// </summary>
public sealed record SnippetContext(WebApplicationBuilder Builder, IConfiguration Configuration, IRbacCache Cache, IUserRepository Db, CancellationToken Ct)
{
    public IServiceCollection Services => Builder.Services;

    public string UserId { get; } = "u-snippet-" + Guid.NewGuid().ToString("N")[..8];

    public string RoleId { get; } = "r-snippet";

    public string Jti { get; } = "t-snippet-" + Guid.NewGuid().ToString("N")[..8];

    public DateTimeOffset TokenExpiresAt { get; } = DateTimeOffset.UtcNow.AddMinutes(30);
}
