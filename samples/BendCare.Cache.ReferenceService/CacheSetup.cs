using BendCare.Cache.Samples;

namespace BendCare.Cache.ReferenceService;

/// <summary>Which server the cache uses, chosen at start: see <see cref="CacheSetup.AddRbacCache"/>.</summary>
internal sealed record CacheMode(string Name)
{
    /// <summary>The library in its disabled mode (as with no <c>REDIS_HOST</c> in production): every read is a query.</summary>
    public static readonly CacheMode Off = new("off");

    /// <summary>The server named by <c>REDIS_HOST</c>/<c>REDIS_PORT</c>/<c>REDIS_USERNAME</c>/<c>REDIS_PASSWORD</c>/<c>REDIS_TLS</c>.</summary>
    public static readonly CacheMode Redis = new("redis");

    /// <summary>A Garnet server started in this process (no <c>REDIS_HOST</c>).</summary>
    public static readonly CacheMode Embedded = new("embedded");
}

internal static class CacheSetup
{
    /// <summary>The switch: <c>BENDCARE_CACHE=off</c> (or <c>--cache off</c>) disables caching; <c>on</c> is the default.</summary>
    public const string SwitchKey = "BENDCARE_CACHE";

    /// <summary>
    /// Registers the cache and its health check: off when the switch says so; else the configured server when
    /// <c>REDIS_HOST</c> is set; else an embedded Garnet server, started with the host and stopped after the cache's
    /// connection closes.
    /// </summary>
    public static CacheMode AddRbacCache(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddHealthChecks().AddBendCareRedisCache();

        CacheMode mode;
        if (!IsEnabled(configuration[SwitchKey]))
        {
            // Exactly what an unset REDIS_HOST does in production, whatever REDIS_* the environment holds.
            services.AddBendCareRedisCache(o => o.Host = null);
            mode = CacheMode.Off;
        }
        else if (!string.IsNullOrWhiteSpace(configuration["REDIS_HOST"]))
        {
            services.AddBendCareRedisCache();
            mode = CacheMode.Redis;
        }
        else
        {
            // Created by the container when the cache's options are first read (as the host starts), so the container
            // disposes it after the connection that uses it.
            services.AddSingleton(_ => EmbeddedGarnet.Start());
            services.AddBendCareRedisCache();
            services.AddOptions<BendCareCacheOptions>().Configure<EmbeddedGarnet>((o, server) =>
            {
                o.Host = server.Host;
                o.Port = server.Port;
                o.UseTls = false; // REDIS_TLS/USERNAME/PASSWORD lingering without REDIS_HOST would not fit this server
                o.Username = null;
                o.Password = null;
            });
            mode = CacheMode.Embedded;
        }

        if (string.IsNullOrEmpty(configuration[$"{BendCareCacheOptions.SectionName}:KeyPrefix"]))
        {
            services.Configure<BendCareCacheOptions>(o => o.KeyPrefix = "bcos:reference:");
        }

        services.AddSingleton(mode);
        return mode;
    }

    /// <summary>Where the cache is, for the start-up line.</summary>
    public static string Describe(this CacheMode mode, IServiceProvider services)
    {
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BendCareCacheOptions>>().Value;
        return mode.Name switch
        {
            "off" => $"off ({SwitchKey}=off): every read goes to the database",
            "embedded" => $"embedded Garnet on {options.Host}:{options.Port} (REDIS_HOST is not set), key prefix '{options.KeyPrefix}'",
            _ => $"{options.Host}:{options.Port}{(options.UseTls ? " (TLS)" : "")} (REDIS_HOST), key prefix '{options.KeyPrefix}'",
        };
    }

    private static bool IsEnabled(string? value) => value?.Trim().ToUpperInvariant() switch
    {
        null or "" or "ON" or "TRUE" or "1" => true,
        "OFF" or "FALSE" or "0" => false,
        _ => throw new InvalidOperationException($"{SwitchKey} (or --cache) must be 'on' or 'off'; got '{value}'."),
    };
}
