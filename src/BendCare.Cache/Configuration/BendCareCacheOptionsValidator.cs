using Microsoft.Extensions.Options;

namespace BendCare.Cache.Configuration;

/// <summary>Rejects invalid options at start-up with a message naming the option, never at the first request.</summary>
internal sealed class BendCareCacheOptionsValidator : IValidateOptions<BendCareCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, BendCareCacheOptions options)
    {
        var failures = new List<string>();
        if (options.IsEnabled)
        {
            if (options.Port is < 1 or > 65535)
            {
                failures.Add($"{nameof(BendCareCacheOptions.Port)} (REDIS_PORT) must be between 1 and 65535; got {options.Port}.");
            }

            if (options.Host!.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                failures.Add($"{nameof(BendCareCacheOptions.Host)} (REDIS_HOST) must not contain spaces or control characters.");
            }
        }

        if (options.KeyPrefix is null)
        {
            failures.Add($"{nameof(BendCareCacheOptions.KeyPrefix)} must not be null (use \"\" for no prefix).");
        }
        else if (options.KeyPrefix.Any(char.IsControl) || options.KeyPrefix.Length > 128)
        {
            failures.Add($"{nameof(BendCareCacheOptions.KeyPrefix)} must be at most 128 characters without control characters.");
        }

        Positive(failures, nameof(BendCareCacheOptions.UserContextTtl), options.UserContextTtl);
        Positive(failures, nameof(BendCareCacheOptions.RolePermissionsTtl), options.RolePermissionsTtl);
        Positive(failures, nameof(BendCareCacheOptions.UserBasicTtl), options.UserBasicTtl);
        Positive(failures, nameof(BendCareCacheOptions.TokenBlacklistedTtl), options.TokenBlacklistedTtl);
        Positive(failures, nameof(BendCareCacheOptions.TokenNotBlacklistedTtl), options.TokenNotBlacklistedTtl);
        Positive(failures, nameof(BendCareCacheOptions.JwtPayloadTtl), options.JwtPayloadTtl);
        Positive(failures, nameof(BendCareCacheOptions.OperationTimeout), options.OperationTimeout);
        if (options.TokenClockSkew < TimeSpan.Zero || options.TokenClockSkew > TimeSpan.FromDays(1))
        {
            failures.Add($"{nameof(BendCareCacheOptions.TokenClockSkew)} must be between 0 and 1 day; got {options.TokenClockSkew}.");
        }

        Positive(failures, nameof(BendCareCacheOptions.ConnectTimeout), options.ConnectTimeout);
        Positive(failures, nameof(BendCareCacheOptions.BreakerOpenDuration), options.BreakerOpenDuration);
        Positive(failures, nameof(BendCareCacheOptions.ReconnectAfter), options.ReconnectAfter);
        Positive(failures, nameof(BendCareCacheOptions.MinReconnectInterval), options.MinReconnectInterval);
        Positive(failures, nameof(BendCareCacheOptions.BreakerStablePeriod), options.BreakerStablePeriod);
        Positive(failures, nameof(BendCareCacheOptions.EvictionCheckInterval), options.EvictionCheckInterval);
        Positive(failures, nameof(BendCareCacheOptions.EvictionRecentWindow), options.EvictionRecentWindow);

        if (options.BreakerMaxOpenDuration < options.BreakerOpenDuration)
        {
            failures.Add($"{nameof(BendCareCacheOptions.BreakerMaxOpenDuration)} must be at least {nameof(BendCareCacheOptions.BreakerOpenDuration)}.");
        }

        if (options.OperationTimeout > TimeSpan.FromSeconds(10))
        {
            // The must-win margin (30 s) must cover a compare-and-set abandoned at the timeout with room to spare.
            failures.Add($"{nameof(BendCareCacheOptions.OperationTimeout)} must be at most 10 seconds; requests wait this long at worst.");
        }

        AtLeastOne(failures, nameof(BendCareCacheOptions.BreakerFailureThreshold), options.BreakerFailureThreshold);
        AtLeastOne(failures, nameof(BendCareCacheOptions.MaxPendingInvalidations), options.MaxPendingInvalidations);
        AtLeastOne(failures, nameof(BendCareCacheOptions.MaxPendingWriteBacks), options.MaxPendingWriteBacks);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Positive(List<string> failures, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{name} must be positive; got {value}.");
        }
    }

    private static void AtLeastOne(List<string> failures, string name, int value)
    {
        if (value < 1)
        {
            failures.Add($"{name} must be at least 1; got {value}.");
        }
    }
}
