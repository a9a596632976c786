namespace BendCare.Cache.UnitTests;

/// <summary>Each leg of the tests runs on the runtime it is built for (the .NET 8 leg is self-contained).</summary>
public sealed class TargetRuntimeTests
{
    [Fact]
    public void Tests_run_on_the_runtime_of_their_target_framework()
    {
#if NET10_0
        const int expected = 10;
#elif NET8_0
        const int expected = 8;
#else
        const int expected = -1;
#endif
        Assert.Equal(expected, Environment.Version.Major);
    }
}
