using System.Reflection;
using BendCare.Cache.Diagnostics;

namespace BendCare.Cache.UnitTests;

/// <summary>
/// The event ids are a public contract: dashboards and alerts (docs/operations.md) select log lines by number. Tests
/// elsewhere assert with the <see cref="Log"/> constants; this one pins the numbers themselves.
/// </summary>
public class LogEventIdTests
{
    private static readonly Dictionary<string, int> Published = new(StringComparer.Ordinal)
    {
        [nameof(Log.UserContextHitId)] = 1001,
        [nameof(Log.UserContextMissId)] = 1002,
        [nameof(Log.RolePermissionsHitId)] = 1003,
        [nameof(Log.RolePermissionsMissId)] = 1004,
        [nameof(Log.UserBasicHitId)] = 1005,
        [nameof(Log.UserBasicMissId)] = 1006,
        [nameof(Log.TokenBlacklistHitId)] = 1007,
        [nameof(Log.TokenBlacklistMissId)] = 1008,
        [nameof(Log.JwtPayloadHitId)] = 1009,
        [nameof(Log.JwtPayloadMissId)] = 1010,
        [nameof(Log.CacheDisabledId)] = 2001,
        [nameof(Log.ConnectingId)] = 2002,
        [nameof(Log.CacheUnavailableId)] = 2003,
        [nameof(Log.CacheRecoveredId)] = 2004,
        [nameof(Log.ConfigurationProblemId)] = 2005,
        [nameof(Log.ForcedReconnectId)] = 2006,
        [nameof(Log.ConnectedId)] = 2007,
        [nameof(Log.ServerEvictionsId)] = 2008,
        [nameof(Log.EvictionWatchBlindId)] = 2009,
        [nameof(Log.ServerRestartedId)] = 2010,
        [nameof(Log.CredentialsProviderFailedId)] = 2011,
        [nameof(Log.ConnectionRenewedId)] = 2012,
        [nameof(Log.ApplicationConnectionNotReplacedId)] = 2013,
        [nameof(Log.ProbeAnsweredSlowlyId)] = 2014,
        [nameof(Log.UnreadableEntryId)] = 3001,
        [nameof(Log.WrongTypeEntryId)] = 3002,
        [nameof(Log.FingerprintMismatchId)] = 3003,
        [nameof(Log.InvalidationDeferredId)] = 3004,
        [nameof(Log.InvalidationsReplayedId)] = 3005,
        [nameof(Log.RememberedInvalidationsFullId)] = 3006,
        [nameof(Log.BackgroundOperationFailedId)] = 3007,
        [nameof(Log.WriteBackDroppedId)] = 3008,
        [nameof(Log.InvalidationAppliedId)] = 3009,
        [nameof(Log.InvalidationDroppedId)] = 3010,
        [nameof(Log.InvalidationsLostAtDisposalId)] = 3011,
        [nameof(Log.BookkeepingKeyHealedId)] = 3012,
        [nameof(Log.LocalCacheSilentReceiversId)] = 4001,
    };

    [Fact]
    public void Every_event_id_constant_has_its_published_number_and_none_is_added_unpinned()
    {
        var actual = typeof(Log)
            .GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(static f => f.IsLiteral && f.FieldType == typeof(int))
            .ToDictionary(static f => f.Name, static f => (int)f.GetRawConstantValue()!, StringComparer.Ordinal);

        Assert.Equal(Published.OrderBy(static p => p.Key, StringComparer.Ordinal), actual.OrderBy(static p => p.Key, StringComparer.Ordinal));
        Assert.Equal(actual.Count, actual.Values.Distinct().Count());
    }
}
