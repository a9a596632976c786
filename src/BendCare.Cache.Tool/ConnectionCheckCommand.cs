using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.Tool;

/// <summary>
/// <c>bendcare-cache check</c>: the seed's <c>test-redis-connection</c>. Reads the settings exactly as a service
/// does (<c>REDIS_*</c> and <c>BendCareCache__*</c> environment variables through <c>AddBendCareRedisCache()</c>,
/// with the same binding and validation), runs <see cref="BendCareConnectionCheck"/>, prints what it found and
/// exits 0 when the cache can be used, 1 otherwise (also when <c>REDIS_HOST</c> is not set: the cache would be
/// disabled). The quick-start sample's <c>check</c> argument runs this same command.
/// </summary>
internal static class ConnectionCheckCommand
{
    /// <summary>Runs the check against the configured server, writes its report to standard output and returns the exit code.</summary>
    public static async Task<int> RunAsync()
    {
        BendCareCacheOptions options;
        try
        {
            options = LoadOptions();
        }
        catch (OptionsValidationException e)
        {
            Console.WriteLine($"FAILED (config): {string.Join(" ", e.Failures)}");
            return 1;
        }
        catch (InvalidOperationException e)
        {
            // A setting that does not parse (BendCareCache__OperationTimeout=soon): the binder names it.
            Console.WriteLine($"FAILED (config): {e.Message}");
            return 1;
        }

        var result = await BendCareConnectionCheck.RunAsync(options).ConfigureAwait(false);
        Console.WriteLine(result.ToText());
        return result.Success ? 0 : 1;
    }

    private static BendCareCacheOptions LoadOptions()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddEnvironmentVariables().Build());
        services.AddBendCareRedisCache();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<BendCareCacheOptions>>().Value;
    }
}
