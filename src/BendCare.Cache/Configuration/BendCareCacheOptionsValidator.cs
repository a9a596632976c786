using Microsoft.Extensions.Options;

namespace BendCare.Cache.Configuration;

/// <summary>
/// Rejects invalid options at start-up with a message naming the option, never at the first request. The single-value
/// rules are attributes on <see cref="BendCareCacheOptions"/>, checked by the generated
/// <see cref="BendCareCacheAttributeValidator"/>; the rules written here depend on another option (whether the cache is
/// enabled, another duration) or on the characters of a string.
/// </summary>
internal sealed class BendCareCacheOptionsValidator : IValidateOptions<BendCareCacheOptions>
{
    private readonly BendCareCacheAttributeValidator _attributes = new();

    public ValidateOptionsResult Validate(string? name, BendCareCacheOptions options)
    {
        var builder = new ValidateOptionsResultBuilder();
        builder.AddResult(_attributes.Validate(name, options));

        // A disabled cache never connects, so its port and host are not checked: an unset REDIS_HOST with any
        // REDIS_PORT must still start.
        // A connection supplied by the application has its own endpoint: Host and Port are not used then.
        if (!string.IsNullOrWhiteSpace(options.Host) && options.ConnectionFactory is null)
        {
            if (options.Port is < 1 or > 65535)
            {
                builder.AddError($"must be between 1 and 65535 (REDIS_PORT); got {options.Port}.", nameof(BendCareCacheOptions.Port));
            }

            if (options.Host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                builder.AddError("must not contain spaces or control characters (REDIS_HOST).", nameof(BendCareCacheOptions.Host));
            }
        }

        if (options.KeyPrefix is not null && options.KeyPrefix.Any(char.IsControl))
        {
            builder.AddError("must not contain control characters.", nameof(BendCareCacheOptions.KeyPrefix));
        }

        if (options.BreakerMaxOpenDuration < options.BreakerOpenDuration)
        {
            builder.AddError(
                $"must be at least {nameof(BendCareCacheOptions.BreakerOpenDuration)} ({options.BreakerOpenDuration}); got {options.BreakerMaxOpenDuration}.",
                nameof(BendCareCacheOptions.BreakerMaxOpenDuration));
        }

        ValidateCredentialRenewal(builder, options);
        if (options.ConnectionFactory is not null)
        {
            ValidateApplicationConnection(builder, options);
        }

        if (options.LocalCache is { } local && local.HeartbeatInterval > local.VerificationWindow / 3)
        {
            builder.AddError(
                $"must be at most a third of {nameof(BendCareLocalCacheOptions.VerificationWindow)} ({local.VerificationWindow}); got {local.HeartbeatInterval}.",
                nameof(BendCareCacheOptions.LocalCache) + "." + nameof(BendCareLocalCacheOptions.HeartbeatInterval));
        }

        return builder.Build();
    }

    private static void ValidateCredentialRenewal(ValidateOptionsResultBuilder builder, BendCareCacheOptions options)
    {
        if (options.CredentialsRefreshInterval is { } interval && (interval <= TimeSpan.Zero || interval > TimeSpan.FromDays(1)))
        {
            builder.AddError($"must be positive and at most 1 day; got {interval}.", nameof(BendCareCacheOptions.CredentialsRefreshInterval));
        }

        if (options.MaxConnectionAge is { } age && age <= TimeSpan.Zero)
        {
            builder.AddError($"must be positive; got {age}.", nameof(BendCareCacheOptions.MaxConnectionAge));
        }
    }

    /// <summary>A connection the application owns is used as it is: settings that only shape a connection the library builds would be silently ignored.</summary>
    private static void ValidateApplicationConnection(ValidateOptionsResultBuilder builder, BendCareCacheOptions options)
    {
        const string Reason = "cannot be used with UseConnection: the library does not build that connection (configure the application's multiplexer instead).";
        if (options.ConfigureConnection is not null)
        {
            builder.AddError(Reason, nameof(BendCareCacheOptions.ConfigureConnection));
        }

        if (options.CredentialsProvider is not null)
        {
            builder.AddError(Reason, nameof(BendCareCacheOptions.CredentialsProvider));
        }

        if (options.CredentialsRefreshInterval is not null)
        {
            builder.AddError(Reason, nameof(BendCareCacheOptions.CredentialsRefreshInterval));
        }

        if (options.MaxConnectionAge is not null)
        {
            builder.AddError(Reason, nameof(BendCareCacheOptions.MaxConnectionAge));
        }
    }
}
