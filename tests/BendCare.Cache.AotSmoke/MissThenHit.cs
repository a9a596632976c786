using System.Globalization;

namespace BendCare.Cache.Smoke;

/// <summary>
/// What an application sees of the cache against a running server: for each of the five cache types a first read
/// calls the loader (a miss) and a later read returns the loaded value without calling it (a hit). Shared by the
/// Native AOT smoke app and the package consumer test, which run it as a plain program would.
/// </summary>
internal static class MissThenHit
{
    /// <summary>How long a value may take to be written back before its second read counts as a failure.</summary>
    private static readonly TimeSpan HitDeadline = TimeSpan.FromSeconds(10);

    private static int _loaderCalls;

    /// <summary>Why the check cannot run here (no <c>REDIS_HOST</c>: the cache would be disabled), or <see langword="null"/>.</summary>
    public static string? MissingServer() => string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("REDIS_HOST"))
        ? "REDIS_HOST is not set (the cache would be disabled and every read a miss)"
        : null;

    /// <summary>Runs the miss and the hit of every cache type; returns one line per type; throws <see cref="SmokeFailedException"/> on the first failure.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(IRbacCache cache, CancellationToken cancellationToken)
    {
        // Fresh ids per run: a value left by an earlier run would make the first read a hit.
        string run = Guid.NewGuid().ToString("N")[..12];
        string rawToken = $"header.{run}.signature";
        var expiresAt = DateTimeOffset.UtcNow.AddHours(1);
        return
        [
            await CheckAsync("user context", ct => cache.GetUserContextAsync($"u-{run}", Load<UserContext?>(new UserContext
            {
                UserId = $"u-{run}", RoleIds = ["r1"], Permissions = [$"perm-{run}"], OrganizationIds = ["org-1"],
            }), ct), value => value?.Permissions is [var p] && p == $"perm-{run}", cancellationToken).ConfigureAwait(false),
            await CheckAsync("role permissions", ct => cache.GetRolePermissionsAsync($"r-{run}", Load<RolePermissions?>(new RolePermissions
            {
                RoleId = $"r-{run}", Permissions = [$"perm-{run}"],
            }), ct), value => value?.Permissions is [var p] && p == $"perm-{run}", cancellationToken).ConfigureAwait(false),
            await CheckAsync("user basic info", ct => cache.GetUserBasicAsync($"u-{run}", Load<UserBasicInfo?>(new UserBasicInfo
            {
                UserId = $"u-{run}", Email = $"{run}@example.test", DisplayName = null, IsActive = true,
            }), ct), value => value?.Email == $"{run}@example.test", cancellationToken).ConfigureAwait(false),
            await CheckAsync("token blacklist", ct => cache.IsTokenBlacklistedAsync($"t-{run}", Load(false), ct),
                value => !value, cancellationToken).ConfigureAwait(false),
            await CheckAsync("JWT payload", ct => cache.GetJwtPayloadAsync($"t-{run}", rawToken, Load<JwtPayload?>(new JwtPayload
            {
                TokenId = $"t-{run}", Subject = $"u-{run}", ExpiresAt = expiresAt,
                Claims = new Dictionary<string, string> { ["run"] = run },
            }), ct), value => value?.Claims.GetValueOrDefault("run") == run, cancellationToken).ConfigureAwait(false),
        ];
    }

    /// <summary>A loader that counts its calls and returns <paramref name="value"/>.</summary>
    private static Func<CancellationToken, ValueTask<T>> Load<T>(T value) => _ =>
    {
        Interlocked.Increment(ref _loaderCalls);
        return ValueTask.FromResult(value);
    };

    private static async Task<string> CheckAsync<T>(string type, Func<CancellationToken, ValueTask<T>> read, Func<T, bool> isExpected, CancellationToken cancellationToken)
    {
        int before = Volatile.Read(ref _loaderCalls);
        var first = await read(cancellationToken).ConfigureAwait(false);
        if (Volatile.Read(ref _loaderCalls) != before + 1 || !isExpected(first))
        {
            throw new SmokeFailedException($"{type}: the first read should call the loader once and return its value (loader calls: {Volatile.Read(ref _loaderCalls) - before})");
        }

        // The write-back runs in the background after the miss returned: read again until it has landed.
        var started = DateTimeOffset.UtcNow;
        int reads = 1;
        while (true)
        {
            before = Volatile.Read(ref _loaderCalls);
            var again = await read(cancellationToken).ConfigureAwait(false);
            reads++;
            if (!isExpected(again))
            {
                throw new SmokeFailedException($"{type}: read {reads} returned another value than the loader's");
            }

            if (Volatile.Read(ref _loaderCalls) == before)
            {
                var waited = (DateTimeOffset.UtcNow - started).TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
                return $"{type}: miss (loader called), then hit on read {reads} ({waited} ms after the miss)";
            }

            if (DateTimeOffset.UtcNow - started > HitDeadline)
            {
                throw new SmokeFailedException($"{type}: no hit within {HitDeadline.TotalSeconds:0} s of the miss ({reads} reads): is the server reachable and the cache enabled?");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>The cache did not behave as an application expects.</summary>
internal sealed class SmokeFailedException(string message) : Exception(message);
