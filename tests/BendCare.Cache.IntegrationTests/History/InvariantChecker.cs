using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>One broken invariant: which, what happened, and the part of the history that shows it.</summary>
/// <param name="Invariant">Short name, e.g. <c>1 freshness</c>.</param>
/// <param name="Message">One line.</param>
/// <param name="History">The violating call and the writes, invalidations and faults on its key (and roles) around it.</param>
public sealed record Violation(string Invariant, string Message, string History);

/// <summary>
/// Checks a recorded history against the invariants, after the run:
/// <list type="number">
/// <item>Freshness: a read that began after an invalidation of its key (or, for a user context, of a role the returned
/// context holds) returned never returns a version older than the one committed when that invalidation started, on
/// any instance; and never a version committed only after it returned (no invented values).</item>
/// <item>Revocations stick: a check that began after <c>BlacklistTokenAsync</c> returned says "blacklisted" while
/// <c>now &lt; exp + 5 min</c>.</item>
/// <item>No exception reaches a caller but the loader's own (the very object) or the caller's own cancellation;
/// invalidations throw nothing but the caller's own cancellation.</item>
/// <item>A returned value is exactly the model's value of some version of that id.</item>
/// <item>Bookkeeping settles: once operations stop and faults are cleared, <c>rbac_epoch</c> stops moving.</item>
/// </list>
/// What the design documents as outside the guarantee is not held against the cache: an invalidation issued while its
/// instance could not reach the server binds other instances only once its replay can have landed (or the stale entry
/// can have expired), and data the server lost (kill -9, a key overwritten with garbage, a role's member index
/// replaced) frees the reads within the lost data's reach (longest load + TTL).
/// </summary>
public sealed class InvariantChecker
{
    /// <summary>Time after a fault ends within which an instance is assumed to have recovered and replayed.</summary>
    public static readonly TimeSpan Recovery = TimeSpan.FromSeconds(3);

    /// <summary>Time after an instance's first connection within which it is assumed to have replayed what it remembered.</summary>
    public static readonly TimeSpan StartupReplay = TimeSpan.FromMilliseconds(250);

    /// <summary>Allowance for background write-backs and scheduling on a busy machine.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(1500);

    /// <summary>The clock skew JwtBearer accepts by default.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly HistoryRunOptions _options;
    private readonly HistoryModel _model;
    private readonly HistoryRecorder _recorder;
    private readonly HistoryTtls _ttls;
    private readonly IReadOnlyList<ReadRecord> _reads;
    private readonly IReadOnlyList<WriteRecord> _writes;
    private readonly IReadOnlyList<FaultRecord> _faults;
    private readonly List<(long Start, long End, long Recovery)>[] _proxyFaults;
    private readonly List<(long Start, long End, long Recovery)> _serverDown = [];
    private readonly List<(long Start, long End)> _epochGarbage = [];
    private readonly Dictionary<string, List<(long Start, long End)>> _roleIndexGarbage = new(StringComparer.Ordinal);
    private readonly List<(OperationKind Kind, EntityKey Key, long Start, long End)> _dataLoss = [];
    private readonly Dictionary<(EntityKey, int), List<(long Start, long ReadAt, long Returned, long End)>> _loads = [];
    private readonly Dictionary<string, int> _checks = new(StringComparer.Ordinal);
    private readonly List<Violation> _violations = [];

    /// <summary>Creates a checker over a finished run.</summary>
    public InvariantChecker(HistoryRunOptions options, HistoryModel model, HistoryRecorder recorder, HistoryTtls ttls)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(recorder);
        _options = options;
        _model = model;
        _recorder = recorder;
        _ttls = ttls;
        _reads = recorder.Reads;
        _writes = recorder.Writes;
        _faults = recorder.Faults;
        _proxyFaults = [.. Enumerable.Range(0, options.Instances).Select(_ => new List<(long, long, long)>())];
        for (int i = 0; i < options.Instances; i++)
        {
            // Until its first connection an instance remembers its invalidations; it replays them on connecting.
            long connected = recorder.ConnectedAt[i];
            _proxyFaults[i].Add((recorder.Origin, connected == 0 ? long.MaxValue : connected, Ticks(StartupReplay)));
        }

        // Every load whose loader returned can have been written back, also when its caller gave up first (the copy
        // lands after the call threw): it ends when the later of the two did.
        foreach (var read in _reads.Where(r => r.LoaderVersion is not null && r.LoaderReturnedAt != 0))
        {
            var loadKey = (read.Operation.Key, read.LoaderVersion!.Value);
            if (!_loads.TryGetValue(loadKey, out var loads))
            {
                _loads[loadKey] = loads = [];
            }

            loads.Add((read.Start, read.LoaderReadAt, read.LoaderReturnedAt, Math.Max(read.End, read.LoaderReturnedAt)));
        }

        var kills = _faults.Where(f => f.Operation.Kind == OperationKind.ServerKill).Select(f => f.Start).Order().ToList();
        long Until(long start) => kills.Where(k => k > start).DefaultIfEmpty(long.MaxValue).First();
        foreach (var fault in _faults)
        {
            switch (fault.Operation.Kind)
            {
                case OperationKind.ProxyFault:
                    _proxyFaults[fault.Operation.Instance].Add((fault.Start, fault.End, Ticks(Recovery)));
                    break;
                case OperationKind.ServerKill:
                    _serverDown.Add((fault.Start, fault.End, Ticks(Recovery)));
                    _dataLoss.Add((fault.Operation.Kind, default, fault.Start, fault.End));
                    break;
                case OperationKind.CorruptValue:
                    _dataLoss.Add((fault.Operation.Kind, fault.Operation.Key, fault.Start, fault.End));
                    break;
                case OperationKind.CorruptEpoch:
                    _epochGarbage.Add((fault.Start, Until(fault.Start)));
                    break;
                case OperationKind.CorruptRoleUsers:
                    if (!_roleIndexGarbage.TryGetValue(fault.Operation.Key.Id, out var list))
                    {
                        _roleIndexGarbage[fault.Operation.Key.Id] = list = [];
                    }

                    list.Add((fault.Start, Until(fault.Start)));
                    _dataLoss.Add((fault.Operation.Kind, fault.Operation.Key, fault.Start, fault.End));
                    break;
            }
        }
    }

    /// <summary>Invariant checks performed, by invariant.</summary>
    public IReadOnlyDictionary<string, int> Checks => _checks;

    /// <summary>Runs every check; <paramref name="epochSamples"/> are the epoch values read after the run, <paramref name="drained"/> whether every call finished.</summary>
    public IReadOnlyList<Violation> Check(IReadOnlyList<string?> epochSamples, bool drained)
    {
        ArgumentNullException.ThrowIfNull(epochSamples);
        foreach (var read in _reads)
        {
            CheckRead(read);
        }

        foreach (var write in _writes)
        {
            foreach (string outcome in write.Outcomes)
            {
                Count("0 write outcome " + outcome);
            }

            Count("3 exceptions");
            if (write.Error is not null && !(write.Error is OperationCanceledException && write.OwnTokenCancelled))
            {
                Add("3 exceptions", $"{Describe(write)} threw {Short(write.Error)}", HistoryAround(write.Operation.Key, write.InvalidationStart, write.InvalidationEnd, [], write.Operation.Instance, null));
            }
        }

        if (!drained)
        {
            Add("3 exceptions", "calls still running 30 s after the schedule ended (a caller waits forever)", string.Empty);
        }

        if (epochSamples.Count >= 3)
        {
            Count("5 bookkeeping settles");
            if (epochSamples[0] != epochSamples[1] && epochSamples[1] != epochSamples[2])
            {
                Add(
                    "5 bookkeeping settles",
                    $"rbac_epoch kept moving after the run, with no role invalidation issued and every fault cleared: {string.Join(" -> ", epochSamples.Select(s => s ?? "(none)"))} (samples 0.4 s apart)",
                    HistoryAround(null, _recorder.ToTimestamp(_options.Duration.TotalMilliseconds), long.MaxValue, [], null, null));
            }
        }

        return _violations;
    }

    private void CheckRead(ReadRecord read)
    {
        var key = read.Operation.Key;
        Count("3 exceptions");
        if (read.Error is not null)
        {
            bool allowed = _recorder.IsLoaderException(read.Error, key) || (read.Error is OperationCanceledException && read.OwnTokenCancelled);
            if (!allowed)
            {
                string why = read.Error is ModelLoaderException ? " (a loader exception, but not one a loader of this key threw)" : read.Error is OperationCanceledException ? " (the caller's own token was not cancelled)" : string.Empty;
                Add("3 exceptions", $"{Describe(read)} threw {Short(read.Error)}{why}", HistoryAround(key, read.Start, read.End, RolesOf(read), read.Operation.Instance, read));
            }

            return;
        }

        Count("4 value integrity");
        int version;
        if (key.Kind == EntityKind.TokenBlacklist)
        {
            if (read.Value is not bool flag)
            {
                Add("4 value integrity", $"{Describe(read)} returned {ModelValues.Describe(read.Value)}", HistoryAround(key, read.Start, read.End, [], read.Operation.Instance, read));
                return;
            }

            version = flag ? 1 : 0;
        }
        else
        {
            var parsed = ModelValues.Parse(read.Value);
            if (parsed is not { } p || p.Id != key.Id)
            {
                Add("4 value integrity", $"{Describe(read)} returned {ModelValues.Describe(read.Value)}: not a value of {key}", HistoryAround(key, read.Start, read.End, [], read.Operation.Instance, read));
                return;
            }

            version = p.Version;
        }

        var model = _model.VersionsOf(key).FirstOrDefault(v => v.Version == version);
        string text = ModelValues.Describe(read.Value);
        if (model is null || model.Text != text)
        {
            Add("4 value integrity", $"{Describe(read)} returned {text}; the model's v{version} is {model?.Text ?? "(none)"}", HistoryAround(key, read.Start, read.End, RolesOf(read), read.Operation.Instance, read));
            return;
        }

        Count("1 no invented value");
        if (model.CommittedAt > read.End)
        {
            Add("1 freshness", $"{Describe(read)} returned v{version}, committed only at {_recorder.At(model.CommittedAt)} ms, after the read returned (invented)", HistoryAround(key, read.Start, read.End, RolesOf(read), read.Operation.Instance, read));
            return;
        }

        CheckFreshness(read, key, version);
    }

    private void CheckFreshness(ReadRecord read, EntityKey key, int version)
    {
        var roles = RolesOf(read);
        int bound = 0;
        WriteRecord? culprit = null;
        foreach (var write in _writes)
        {
            if (!write.Returned || write.InvalidationEnd >= read.Start)
            {
                continue;
            }

            var target = write.Operation.Key;
            bool relevant = key.Kind == EntityKind.UserContext
                ? (write.Operation.Write == WriteKind.UserRoles && target == key) || (write.Operation.Write == WriteKind.RolePermissions && roles.Contains(target.Id, StringComparer.Ordinal))
                : target == key;
            if (!relevant)
            {
                continue;
            }

            if (EffectiveFor(write, read.Operation.Instance, key, version, read.Start, read.End) >= read.Start)
            {
                Count("1 constraints waived: invalidation not yet replayed");
                continue;
            }

            if (Exempt(write, read, key, version))
            {
                Count("1 constraints waived: data lost by the server");
                continue;
            }

            if (key.Kind == EntityKind.TokenBlacklist && write.Expiry is { } exp && read.StartWall >= exp + ClockSkew)
            {
                continue;
            }

            Count(key.Kind == EntityKind.TokenBlacklist ? "2 revocation constraints" : "1 freshness constraints");
            int b = _model.VersionAt(key, write.InvalidationStart);
            if (b > bound)
            {
                bound = b;
                culprit = write;
            }
        }

        Count(key.Kind == EntityKind.TokenBlacklist ? "2 revocation sticks (reads)" : "1 freshness (reads)");
        if (version < bound && culprit is not null)
        {
            string invariant = key.Kind == EntityKind.TokenBlacklist ? "2 revocation sticks" : "1 freshness";
            string what = key.Kind == EntityKind.TokenBlacklist
                ? $"{Describe(read)} returned not blacklisted, but {Describe(culprit)} returned at {_recorder.At(culprit.InvalidationEnd)} ms, before the check began"
                : $"{Describe(read)} returned v{version}, but v{bound} was committed before {Describe(culprit)} started at {_recorder.At(culprit.InvalidationStart)} ms and that call returned at {_recorder.At(culprit.InvalidationEnd)} ms, before the read began";
            Add(invariant, what, HistoryAround(key, read.Start, read.End, roles, read.Operation.Instance, read, culprit, HistorySchedule.MaxLoaderDelay + Slack));
        }
    }

    /// <summary>
    /// From when <paramref name="write"/>'s invalidation binds a read on <paramref name="instance"/> that returned
    /// <paramref name="version"/>: at once on its own instance and when the call reached the server; otherwise once its
    /// replay can have landed, or once every copy of that version written back by a load (the loads are in the history)
    /// can have expired, whichever is first. Only a load whose loader returned before the read did can have put there
    /// the copy the read saw (a copy is written after its loader returns).
    /// </summary>
    private long EffectiveFor(WriteRecord write, int instance, EntityKey key, int version, long readStart, long readEnd)
    {
        if (instance == write.Operation.Instance || IsClean(write))
        {
            return write.InvalidationEnd;
        }

        long lastCopy = LoadsOf(key, version).Where(l => l.Start < readStart && l.Returned < readEnd).Select(l => l.End).DefaultIfEmpty(0).Max();
        long expired = lastCopy + Ticks(_ttls.Of(key.Kind) + Slack);
        return Math.Max(write.InvalidationEnd, Math.Min(expired, ReplayEstimate(write)));
    }

    /// <summary>True when nothing stood between the instance and the server around the call.</summary>
    private bool IsClean(WriteRecord write)
    {
        // The library says what became of each of the call's writes: only "applied" everywhere binds at once.
        if (!write.Outcomes.IsEmpty)
        {
            return write.Outcomes.All(static o => o == "applied")
                && (write.Operation.Write != WriteKind.RolePermissions || !GarbageBlocks(write));
        }

        long from = write.InvalidationStart;
        long to = write.InvalidationEnd;
        if (Overlaps(_proxyFaults[write.Operation.Instance], from, to) || Overlaps(_serverDown, from, to))
        {
            return false;
        }

        return write.Operation.Write != WriteKind.RolePermissions || !GarbageBlocks(write);
    }

    private bool GarbageBlocks(WriteRecord write) =>
        Overlaps(_epochGarbage, write.InvalidationStart, write.InvalidationEnd)
        || (_roleIndexGarbage.TryGetValue(write.Operation.Key.Id, out var list) && Overlaps(list, write.InvalidationStart, write.InvalidationEnd));

    private long ReplayEstimate(WriteRecord write)
    {
        if (write.Operation.Write == WriteKind.RolePermissions && GarbageBlocks(write))
        {
            return long.MaxValue;
        }

        long t = write.InvalidationEnd;
        var intervals = _proxyFaults[write.Operation.Instance].Concat(_serverDown).ToList();

        // Remembered without a fault the schedule knows of (a breaker still open, a busy machine's timeouts): the
        // replay lands once the instance recovers, like after a fault that ended with the call.
        if (write.Outcomes.Contains("remembered"))
        {
            intervals.Add((write.InvalidationStart, write.InvalidationEnd, Ticks(Recovery)));
        }

        if (write.Outcomes.Contains("dropped"))
        {
            return long.MaxValue;
        }
        while (true)
        {
            var overlapping = intervals.Where(i => i.Start <= t && Saturating(i.End, i.Recovery) > t).ToList();
            if (overlapping.Count == 0)
            {
                return t;
            }

            t = overlapping.Max(i => Saturating(i.End, i.Recovery));
        }
    }

    /// <summary>
    /// True when data the server lost (kill, overwritten key, replaced role index) can explain the stale
    /// <paramref name="version"/>: a load of that version was in flight across the loss (its compare-and-set may have
    /// compared against a state the loss brought back), or, for a lost role index, its copy was cached when the index
    /// was lost; and the read began before that copy can have expired.
    /// </summary>
    private bool Exempt(WriteRecord write, ReadRecord read, EntityKey key, int version)
    {
        long slack = Ticks(Slack);
        long ttl = Ticks(_ttls.Of(key.Kind));
        var loads = LoadsOf(key, version);
        foreach (var (kind, lostKey, start, end) in _dataLoss)
        {
            if (start > read.End)
            {
                continue;
            }

            bool explains = kind switch
            {
                OperationKind.ServerKill or OperationKind.CorruptValue =>
                    (kind == OperationKind.ServerKill || lostKey == key)
                    && loads.Any(l => l.ReadAt <= end && l.End >= start - slack && read.Start <= Math.Max(l.End, end) + ttl + slack),
                _ => write.Operation.Write == WriteKind.RolePermissions && write.Operation.Key.Id == lostKey.Id && key.Kind == EntityKind.UserContext
                    && loads.Any(l => l.End + ttl + slack >= start && read.Start <= Math.Max(l.End, end) + ttl + slack),
            };
            if (explains)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The version a read returned (a blacklist check: 1 when blacklisted), or null when it threw.</summary>
    private static int? VersionOf(ReadRecord read) =>
        read.Error is not null ? null
        : read.Value is bool flag ? (flag ? 1 : 0)
        : ModelValues.Parse(read.Value)?.Version;

    private List<(long Start, long ReadAt, long Returned, long End)> LoadsOf(EntityKey key, int version) =>
        _loads.TryGetValue((key, version), out var list) ? list : [];

    private string HistoryAround(EntityKey? key, long start, long end, IReadOnlyList<string> roles, int? instance, ReadRecord? read, WriteRecord? culprit = null, TimeSpan? before = null)
    {
        long from = start - Ticks(before ?? TimeSpan.FromSeconds(1));
        var lines = new List<(long At, string Text)>();
        var instances = new HashSet<int>();
        if (instance is { } own)
        {
            instances.Add(own);
        }

        foreach (var write in _writes)
        {
            var target = write.Operation.Key;
            bool relevant = key is null
                ? write.Operation.Write == WriteKind.RolePermissions
                : target == key || (key.Value.Kind == EntityKind.UserContext && write.Operation.Write == WriteKind.RolePermissions && roles.Contains(target.Id, StringComparer.Ordinal))
                  || write == culprit;
            if (!relevant || write.InvalidationEnd < from || write.InvalidationStart > end)
            {
                continue;
            }

            instances.Add(write.Operation.Instance);
            string versions = string.Join(", ", write.Committed.Where(c => key is null || c.Key == key || c.Key == target).Select(c => $"{c.Key} v{c.Version}"));
            string outcome = write.Error is null ? "returned" : "threw " + Short(write.Error);
            string clean = write.Error is null && !IsClean(write) ? " (instance could not reach the server: binds others after replay)" : string.Empty;
            lines.Add((write.InvalidationStart, $"{_recorder.At(write.InvalidationStart),9}–{_recorder.At(write.InvalidationEnd)} {Describe(write)} after committing {versions}: {outcome}{clean}"));
        }

        foreach (var fault in _faults)
        {
            var op = fault.Operation;
            bool relevant = op.Kind switch
            {
                OperationKind.ProxyFault => instances.Contains(op.Instance),
                OperationKind.ServerKill or OperationKind.CorruptEpoch or OperationKind.SubscriptionKill or OperationKind.PubSubOverflow => true,
                OperationKind.CorruptValue => key is null || op.Key == key,
                _ => key is null || roles.Contains(op.Key.Id, StringComparer.Ordinal) || (key.Value.Kind == EntityKind.UserContext),
            };
            if (!relevant || fault.End < from || fault.Start > end)
            {
                continue;
            }

            lines.Add((fault.Start, $"{_recorder.At(fault.Start),9}–{_recorder.At(fault.End)} fault #{op.Seq}: {DescribeFault(op)}{(fault.Failure is null ? string.Empty : " (injection failed: " + fault.Failure + ")")}"));
        }

        foreach (int i in instances)
        {
            long connected = _recorder.ConnectedAt[i];
            lines.Add(connected == 0 ? (from, $"{"-",9} instance {i} never connected during the run") : (connected, $"{_recorder.At(connected),9} instance {i} first connected to the server"));
        }

        if (read is not null)
        {
            int shown = 0;
            foreach (var other in _reads.Where(r => r != read && r.Operation.Key == key && r.LoaderVersion is not null && r.LoaderReadAt >= from && r.Start <= end).OrderBy(r => r.Start))
            {
                bool sameValue = ModelValues.Describe(other.Value) == ModelValues.Describe(read.Value)
                    || (other.Error is not null && other.LoaderReturnedAt != 0 && other.LoaderVersion == VersionOf(read));
                if (sameValue && shown++ < 4)
                {
                    lines.Add((other.Start, $"{_recorder.At(other.Start),9}–{_recorder.At(other.End)} {Describe(other)}: its loader read v{other.LoaderVersion} at {_recorder.At(other.LoaderReadAt)} ms (then waited {other.Operation.LoaderDelayMs:0} ms), {(other.Error is null ? "returned " + Outcome(other) : $"the call {Outcome(other)}, its loader returned at {_recorder.At(other.LoaderReturnedAt)} ms")}"));
                }
            }

            string loader = read.LoaderVersion is { } lv ? $"; its own loader read v{lv} at {_recorder.At(read.LoaderReadAt)} ms" : "; its own loader did not run";
            lines.Add((read.Start, $"{_recorder.At(read.Start),9}–{_recorder.At(read.End)} {Describe(read)} -> {Outcome(read)}{loader}   <== violation"));
        }

        var text = new StringBuilder();
        foreach (var (_, line) in lines.OrderBy(l => l.At))
        {
            text.Append("    ").AppendLine(line);
        }

        return text.ToString();
    }

    private static IReadOnlyList<string> RolesOf(ReadRecord read) => read.Value is UserContext c ? c.RoleIds ?? [] : [];

    private static string Outcome(ReadRecord read) => read.Error is not null ? "threw " + Short(read.Error) : ModelValues.Describe(read.Value);

    private static string Describe(ReadRecord read)
    {
        var op = read.Operation;
        string cancel = op.CancelAfterMs is { } c ? $", token cancelled after {c:0} ms" : string.Empty;
        return $"read #{op.Seq} on instance {op.Instance} of {op.Key}{cancel}";
    }

    private static string Describe(WriteRecord write)
    {
        var op = write.Operation;
        string call = op.Write switch
        {
            WriteKind.UserRoles => $"InvalidateUserContextAsync({op.Key.Id}) [roles now {string.Join(',', op.NewRoles)}]",
            WriteKind.RolePermissions => $"InvalidateRolePermissionsAsync({op.Key.Id})",
            WriteKind.UserBasic => $"InvalidateUserBasicAsync({op.Key.Id})",
            WriteKind.JwtPayload => $"InvalidateJwtPayloadAsync({op.Key.Id})",
            _ => $"BlacklistTokenAsync({op.Key.Id}, exp {(op.ExpiryOffsetSeconds >= 0 ? "+" : string.Empty)}{op.ExpiryOffsetSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s)",
        };
        string cancel = op.CancelAfterMs is { } c ? $", token cancelled after {c:0} ms" : string.Empty;
        return $"write #{op.Seq} on instance {op.Instance}: {call}{cancel}";
    }

    private static string DescribeFault(ScheduledOperation op) => op.Kind switch
    {
        OperationKind.ProxyFault => $"proxy of instance {op.Instance} {op.FaultMode}{(op.FaultMode == Infrastructure.ProxyMode.Delay ? $" {op.FaultDelayMs:0} ms" : string.Empty)}",
        OperationKind.ServerKill => "server killed (-9) and restarted",
        OperationKind.CorruptValue => $"SET {op.Key} <{op.Garbage.Length} random bytes>",
        OperationKind.CorruptEpoch => "SET rbac_epoch not-a-number",
        OperationKind.SubscriptionKill => "CLIENT KILL TYPE pubsub (every subscription dropped)",
        OperationKind.PubSubOverflow => $"pub/sub output buffer limit 64 bytes for {op.DurationMs:0} ms (subscribers dropped, messages lost)",
        _ => $"role_members:{op.Key.Id} replaced by a {(op.AsList ? "list" : "string")}",
    };

    private static string Short(Exception exception)
    {
        string message = exception.Message.Length > 160 ? exception.Message[..160] + "..." : exception.Message;
        return $"{exception.GetType().Name}: {message}";
    }

    private static bool Overlaps(List<(long Start, long End)> intervals, long from, long to) =>
        intervals.Any(i => i.Start <= to && i.End >= from);

    /// <summary>True when an interval, extended by its recovery time, overlaps [from, to].</summary>
    private static bool Overlaps(List<(long Start, long End, long Recovery)> intervals, long from, long to) =>
        intervals.Any(i => i.Start <= to && Saturating(i.End, i.Recovery) >= from);

    private static long Saturating(long end, long recovery) => end > long.MaxValue - recovery ? long.MaxValue : end + recovery;

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private void Count(string invariant) => _checks[invariant] = _checks.GetValueOrDefault(invariant) + 1;

    private void Add(string invariant, string message, string history) => _violations.Add(new Violation(invariant, message, history));
}
