using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using BendCare.Cache.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>What one run did and found.</summary>
public sealed record HistoryRunReport
{
    /// <summary>The seed (replay it with <c>BENDCARE_HISTORY_SEED</c>).</summary>
    public required int Seed { get; init; }

    /// <summary>What ran (the library or the naive cache).</summary>
    public required string Target { get; init; }

    /// <summary>Getter calls made.</summary>
    public required int Reads { get; init; }

    /// <summary>Reads answered from an in-process cache (0 without L1).</summary>
    public long LocalHits { get; init; }

    /// <summary>Model writes with their invalidation/blacklisting call.</summary>
    public required int Writes { get; init; }

    /// <summary>Faults injected, by kind.</summary>
    public required IReadOnlyDictionary<string, int> Faults { get; init; }

    /// <summary>Invariant checks performed, by invariant.</summary>
    public required IReadOnlyDictionary<string, int> Checks { get; init; }

    /// <summary>What broke.</summary>
    public required IReadOnlyList<Violation> Violations { get; init; }

    /// <summary>A few lines for the test output.</summary>
    public string Summary(int maxViolations = 3)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"seed {Seed} [{Target}]: {Reads} reads ({LocalHits} from L1), {Writes} writes; faults: {Join(Faults)}")
            .AppendLine()
            .Append(CultureInfo.InvariantCulture, $"  checks: {Join(Checks)}")
            .AppendLine()
            .Append(CultureInfo.InvariantCulture, $"  violations: {Violations.Count}{(Violations.Count == 0 ? string.Empty : " (" + Join(Violations.GroupBy(v => v.Invariant).ToDictionary(g => g.Key, g => g.Count())) + ")")}")
            .AppendLine();
        foreach (var violation in Violations.GroupBy(v => v.Invariant).SelectMany(g => g.Take(maxViolations)))
        {
            text.Append(CultureInfo.InvariantCulture, $"  VIOLATION seed {Seed}, invariant {violation.Invariant}: {violation.Message}").AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"  (replay: BENDCARE_HISTORY_SEED={Seed}) history:").AppendLine().Append(violation.History);
        }

        return text.ToString();
    }

    private static string Join(IReadOnlyDictionary<string, int> counts) =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));
}

/// <summary>
/// Runs one seed: a model database, N cache instances each behind its own <see cref="TcpFaultProxy"/> in front of one
/// dedicated server, the seed's schedule of concurrent reads, writes and faults dispatched at their offsets, then the
/// invariant check over the recorded history. The instances are used as soon as they are built, like an application
/// does; nothing waits for them to connect.
/// </summary>
public static class HistoryRunner
{
    /// <summary>Runs <paramref name="options"/> against <paramref name="target"/> on <paramref name="server"/>.</summary>
    public static async Task<HistoryRunReport> RunAsync(HistoryRunOptions options, RedisServer server, IHistoryTarget target, HistoryTtls? ttls = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(target);
        ttls ??= new HistoryTtls();
        OutcomeListener.Start();
        long localHitsBefore = OutcomeListener.LocalHits;
        var (universe, schedule) = HistorySchedule.Create(options);
        string prefix = $"h{options.Seed.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}:";
        var model = new HistoryModel(universe, DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()));

        await using var adminConnection = await server.ConnectAdminAsync();
        var admin = adminConnection.GetDatabase();
        var proxies = new List<TcpFaultProxy>();
        var owners = new List<IAsyncDisposable>();
        var caches = new List<IRbacCache>();
        var recorder = new HistoryRecorder(options.Instances);
        try
        {
            for (int i = 0; i < options.Instances; i++)
            {
                var proxy = new TcpFaultProxy(server.Host, server.Port);
                proxies.Add(proxy);
                var (cache, owner, connected) = await target.CreateAsync(server, proxy, prefix, ttls);
                caches.Add(cache);
                owners.Add(owner);
                int instance = i;

                // Noted, never awaited: the operations start at once, like an application's first requests.
                _ = connected.ContinueWith(_ => recorder.Connected(instance), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            var faults = new FaultInjector(server, proxies, admin, prefix, recorder);
            var running = new List<Task>(schedule.Count);
            foreach (var operation in schedule)
            {
                double wait = operation.AtMs - recorder.Ms(Stopwatch.GetTimestamp());
                if (wait >= 1)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait));
                }

                running.Add(operation.Kind switch
                {
                    OperationKind.Read => Task.Run(() => ReadAsync(operation, caches[operation.Instance], model, recorder)),
                    OperationKind.Write => Task.Run(() => WriteAsync(operation, caches[operation.Instance], model, recorder)),
                    _ => Task.Run(() => faults.ApplyAsync(operation)),
                });
            }

            bool drained = true;
            try
            {
                await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                drained = false;
            }

            // Quiescence: every fault is over; once the instances have had time to recover, the epoch must stop moving.
            foreach (var proxy in proxies)
            {
                proxy.Pass();
            }

            if (!server.IsRunning)
            {
                await server.RestartAsync();
            }

            var samples = new List<string?>();
            if (options.CheckQuiescence)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(750));
                for (int i = 0; i < 3; i++)
                {
                    if (i > 0)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(400));
                    }

                    try
                    {
                        samples.Add((string?)await admin.StringGetAsync(prefix + "rbac_epoch"));
                    }
                    catch (RedisException ex)
                    {
                        samples.Add("unreadable: " + ex.GetType().Name);
                    }
                }
            }

            var checker = new InvariantChecker(options, model, recorder, ttls);
            var violations = checker.Check(samples, drained);
            return new HistoryRunReport
            {
                Seed = options.Seed,
                Target = target.Name,
                Reads = recorder.Reads.Count,
                LocalHits = OutcomeListener.LocalHits - localHitsBefore,
                Writes = recorder.Writes.Count,
                Faults = recorder.Faults.GroupBy(f => f.Operation.Kind == OperationKind.ProxyFault ? f.Operation.FaultMode.ToString() : f.Operation.Kind.ToString())
                    .ToDictionary(g => g.Key, g => g.Count()),
                Checks = checker.Checks,
                Violations = violations,
            };
        }
        finally
        {
            foreach (var owner in owners)
            {
                await owner.DisposeAsync();
            }

            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync();
            }
        }
    }

    private static async Task ReadAsync(ScheduledOperation operation, IRbacCache cache, HistoryModel model, HistoryRecorder recorder)
    {
        using var cts = new CancellationTokenSource();
        var token = operation.CancelAfterMs is null ? CancellationToken.None : cts.Token;
        var record = new ReadRecord { Operation = operation, StartWall = DateTimeOffset.UtcNow, Start = Stopwatch.GetTimestamp() };
        if (operation.CancelAfterMs is { } cancelAfter)
        {
            cts.CancelAfter(TimeSpan.FromMilliseconds(cancelAfter));
        }

        string id = operation.Key.Id;
        try
        {
            switch (operation.Key.Kind)
            {
                case EntityKind.UserContext:
                    record.Value = await cache.GetUserContextAsync(id, ct => LoadAsync<UserContext?>(operation, record, model, recorder, ct), token);
                    break;
                case EntityKind.RolePermissions:
                    record.Value = await cache.GetRolePermissionsAsync(id, ct => LoadAsync<RolePermissions?>(operation, record, model, recorder, ct), token);
                    break;
                case EntityKind.UserBasic:
                    record.Value = await cache.GetUserBasicAsync(id, ct => LoadAsync<UserBasicInfo?>(operation, record, model, recorder, ct), token);
                    break;
                case EntityKind.TokenBlacklist:
                    record.Value = await cache.IsTokenBlacklistedAsync(id, ct => LoadAsync<bool>(operation, record, model, recorder, ct), token);
                    break;
                default:
                    record.Value = await cache.GetJwtPayloadAsync(id, ct => LoadAsync<JwtPayload?>(operation, record, model, recorder, ct), token);
                    break;
            }
        }
        catch (Exception ex)
        {
            record.Error = ex;
            record.OwnTokenCancelled = token.IsCancellationRequested;
        }

        record.End = Stopwatch.GetTimestamp();
        recorder.Add(record);
    }

    /// <summary>The loader: reads the model (the version is captured at the read), waits, maybe throws.</summary>
    private static async ValueTask<T> LoadAsync<T>(ScheduledOperation operation, ReadRecord record, HistoryModel model, HistoryRecorder recorder, CancellationToken cancellationToken)
    {
        var (version, readAt) = model.Read(operation.Key);
        record.LoaderVersion = version.Version;
        record.LoaderReadAt = readAt;
        if (operation.LoaderDelayMs >= 1)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(operation.LoaderDelayMs), cancellationToken);
        }
        else
        {
            await Task.Yield();
        }

        if (operation.LoaderThrows)
        {
            throw recorder.NewLoaderException(operation.Key);
        }

        record.LoaderReturnedAt = Stopwatch.GetTimestamp();
        return (T)version.Value;
    }

    private static async Task WriteAsync(ScheduledOperation operation, IRbacCache cache, HistoryModel model, HistoryRecorder recorder)
    {
        var record = new WriteRecord { Operation = operation };
        string id = operation.Key.Id;
        DateTimeOffset expiry = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(operation.ExpiryOffsetSeconds);
        record.Committed = operation.Write switch
        {
            WriteKind.UserRoles => model.ChangeUserRoles(id, operation.NewRoles),
            WriteKind.RolePermissions => model.EditRolePermissions(id),
            WriteKind.UserBasic => model.EditUserBasic(id),
            WriteKind.JwtPayload => model.EditJwtPayload(id),
            _ => model.RevokeToken(id, expiry),
        };

        using var cts = new CancellationTokenSource();
        var token = operation.CancelAfterMs is null ? CancellationToken.None : cts.Token;
        if (operation.CancelAfterMs is { } cancelAfter)
        {
            cts.CancelAfter(TimeSpan.FromMilliseconds(cancelAfter));
        }

        OutcomeListener.Start();
        OutcomeListener.Current.Value = record;
        record.InvalidationStart = Stopwatch.GetTimestamp();
        try
        {
            switch (operation.Write)
            {
                case WriteKind.UserRoles:
                    await cache.InvalidateUserContextAsync(id, token);
                    break;
                case WriteKind.RolePermissions:
                    await cache.InvalidateRolePermissionsAsync(id, token);
                    break;
                case WriteKind.UserBasic:
                    await cache.InvalidateUserBasicAsync(id, token);
                    break;
                case WriteKind.JwtPayload:
                    await cache.InvalidateJwtPayloadAsync(id, token);
                    break;
                default:
                    record.Expiry = expiry;
                    await cache.BlacklistTokenAsync(id, expiry, token);
                    break;
            }
        }
        catch (Exception ex)
        {
            record.Error = ex;
            record.OwnTokenCancelled = token.IsCancellationRequested;
        }

        record.InvalidationEnd = Stopwatch.GetTimestamp();
        OutcomeListener.Current.Value = null;
        recorder.Add(record);
    }
}

/// <summary>
/// Captures the outcome the library reports for each write (its metric is recorded on the writing call's own async
/// flow, also when the caller's token ended the wait first), so the checker knows which invalidations were applied.
/// </summary>
internal static class OutcomeListener
{
    private static readonly object Gate = new();
    private static MeterListener? _listener;

    private static long _localHits;

    public static AsyncLocal<WriteRecord?> Current { get; } = new();

    /// <summary>Reads answered from an in-process cache, by every instance in this process since it started.</summary>
    public static long LocalHits => Interlocked.Read(ref _localHits);

    public static void Start()
    {
        lock (Gate)
        {
            if (_listener is not null)
            {
                return;
            }

            _listener = new MeterListener
            {
                InstrumentPublished = static (instrument, listener) =>
                {
                    if (instrument.Meter.Name == "BendCare.Cache" && instrument.Name is "bendcare.cache.invalidations" or "bendcare.cache.local.hits")
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<long>(static (instrument, _, tags, _) =>
            {
                if (instrument.Name == "bendcare.cache.local.hits")
                {
                    Interlocked.Increment(ref _localHits);
                    return;
                }

                if (Current.Value is not { } record)
                {
                    return;
                }

                foreach (var tag in tags)
                {
                    if (tag.Key == "outcome" && tag.Value is string outcome)
                    {
                        record.Outcomes.Enqueue(outcome);
                    }
                }
            });
            _listener.Start();
        }
    }
}
