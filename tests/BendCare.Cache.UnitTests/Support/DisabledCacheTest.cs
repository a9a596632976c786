using Microsoft.Extensions.DependencyInjection;

namespace BendCare.Cache.UnitTests.Support;

/// <summary>
/// A fresh disabled cache (no <c>REDIS_HOST</c>) for each test, so no single-flight state is shared between tests.
/// </summary>
public abstract class DisabledCacheTest : IAsyncDisposable
{
    /// <summary>A compact JWT for the raw-token overloads.</summary>
    protected const string RawToken = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ0b2tlbi0xIn0.c2lnbmF0dXJl";

    protected ServiceProvider Provider { get; } = TestServices.DisabledProvider();

    protected IRbacCache Cache => Provider.GetRequiredService<IRbacCache>();

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Provider.DisposeAsync();
    }
}
