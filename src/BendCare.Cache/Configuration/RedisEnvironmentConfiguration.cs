using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace BendCare.Cache.Configuration;

/// <summary>
/// Fills the options from the seed's <c>REDIS_*</c> variables (through <see cref="IConfiguration"/> when one is
/// registered, which includes environment variables in a host, else the process environment), then from the
/// <c>BendCareCache</c> configuration section.
/// </summary>
internal sealed class RedisEnvironmentConfiguration : IConfigureOptions<BendCareCacheOptions>
{
    private readonly IConfiguration? _configuration;

    public RedisEnvironmentConfiguration(IConfiguration? configuration = null) => _configuration = configuration;

    public void Configure(BendCareCacheOptions options)
    {
        Apply(options, name => _configuration is null ? Environment.GetEnvironmentVariable(name) : _configuration[name]);
        _configuration?.GetSection(BendCareCacheOptions.SectionName).Bind(options);
    }

    internal static void Apply(BendCareCacheOptions options, Func<string, string?> read)
    {
        // An unset variable never erases a value configured in code (services.Configure before or after this).
        string? host = read("REDIS_HOST");
        if (!string.IsNullOrWhiteSpace(host))
        {
            options.Host = host;
        }

        string? port = read("REDIS_PORT");
        if (!string.IsNullOrWhiteSpace(port))
        {
            options.Port = int.TryParse(port.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int parsed)
                ? parsed
                : throw new OptionsValidationException(
                    nameof(BendCareCacheOptions.Port),
                    typeof(BendCareCacheOptions),
                    [$"REDIS_PORT must be a port number between 1 and 65535; got '{port}'."]);
        }

        string? username = read("REDIS_USERNAME");
        if (!string.IsNullOrEmpty(username))
        {
            options.Username = username;
        }

        string? password = read("REDIS_PASSWORD");
        if (!string.IsNullOrEmpty(password))
        {
            options.Password = password;
        }

        string? tls = read("REDIS_TLS");
        if (!string.IsNullOrWhiteSpace(tls))
        {
            options.UseTls = tls.Trim().ToUpperInvariant() switch
            {
                "TRUE" or "1" or "YES" => true,
                "FALSE" or "0" or "NO" => false,
                _ => throw new OptionsValidationException(
                    nameof(BendCareCacheOptions.UseTls),
                    typeof(BendCareCacheOptions),
                    [$"REDIS_TLS must be true or false; got '{tls}'."]),
            };
        }
    }
}
