using BendCare.Cache.Configuration;

namespace BendCare.Cache.UnitTests;

/// <summary>The options validator's rule for <see cref="BendCareCacheOptions.Host"/>: no whitespace anywhere in it.</summary>
public class HostValidationTests
{
    [Fact]
    public void Host_containing_a_space_is_rejected_at_startup()
    {
        // Regression: the validator's message says the host "must not contain spaces", but only leading and trailing
        // ones were caught.
        var result = new BendCareCacheOptionsValidator().Validate(null, new BendCareCacheOptions { Host = "redis internal" });

        Assert.True(result.Failed);
    }
}
