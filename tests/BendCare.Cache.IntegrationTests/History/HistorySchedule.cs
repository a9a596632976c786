using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.IntegrationTests.History;

/// <summary>The ids a run works on, and the initial role memberships.</summary>
/// <param name="Users">User ids (user contexts and user basic info).</param>
/// <param name="Roles">Role ids.</param>
/// <param name="Tokens">Token ids (blacklist entries and JWT payloads).</param>
/// <param name="InitialRoles">The roles each user starts with.</param>
public sealed record HistoryUniverse(string[] Users, string[] Roles, string[] Tokens, IReadOnlyDictionary<string, string[]> InitialRoles);

/// <summary>What a scheduled operation does.</summary>
public enum OperationKind
{
    /// <summary>A getter on one instance.</summary>
    Read,

    /// <summary>A model commit, then the matching invalidation/blacklisting on one instance.</summary>
    Write,

    /// <summary>One instance's proxy switches to a fault mode for a while, then back to pass.</summary>
    ProxyFault,

    /// <summary>The server is killed (-9) and restarted after a gap; its data is lost.</summary>
    ServerKill,

    /// <summary><c>SET key &lt;random bytes&gt;</c> on one entity key.</summary>
    CorruptValue,

    /// <summary><c>rbac_epoch</c> ← <c>not-a-number</c>.</summary>
    CorruptEpoch,

    /// <summary><c>role_members:{role}</c> ← a string or a list (DEL first, so it works whatever type the library uses).</summary>
    CorruptRoleUsers,

    /// <summary><c>CLIENT KILL TYPE pubsub</c>: every instance's subscription is dropped (only with the in-process cache on).</summary>
    SubscriptionKill,

    /// <summary>
    /// The server's pub/sub output buffer limit shrinks to a few dozen bytes for a while: it drops the subscribers it cannot
    /// keep up with, so messages are lost (only with the in-process cache on).
    /// </summary>
    PubSubOverflow,
}

/// <summary>Which model write a <see cref="OperationKind.Write"/> is.</summary>
public enum WriteKind
{
    /// <summary>A user's roles change; <c>InvalidateUserContextAsync</c>.</summary>
    UserRoles,

    /// <summary>A role's permissions change (and with them every holder's context); <c>InvalidateRolePermissionsAsync</c>.</summary>
    RolePermissions,

    /// <summary>A user's basic info changes; <c>InvalidateUserBasicAsync</c>.</summary>
    UserBasic,

    /// <summary>A token's payload changes; <c>InvalidateJwtPayloadAsync</c>.</summary>
    JwtPayload,

    /// <summary>A token is revoked; <c>BlacklistTokenAsync(jti, exp)</c>.</summary>
    Blacklist,
}

/// <summary>One operation of the schedule. Everything about it is drawn from the seed when the schedule is made.</summary>
public sealed record ScheduledOperation
{
    /// <summary>Position in the schedule (also the id printed in histories).</summary>
    public required int Seq { get; init; }

    /// <summary>Offset from the start of the run, in milliseconds.</summary>
    public required double AtMs { get; init; }

    /// <summary>What it does.</summary>
    public required OperationKind Kind { get; init; }

    /// <summary>The entity read, written or corrupted (role id for <see cref="OperationKind.CorruptRoleUsers"/> is in <see cref="EntityKey.Id"/>).</summary>
    public EntityKey Key { get; init; }

    /// <summary>The instance the call goes to (or whose proxy is faulted).</summary>
    public int Instance { get; init; }

    /// <summary>Reads: how long the loader waits after reading the model.</summary>
    public double LoaderDelayMs { get; init; }

    /// <summary>Reads: whether the loader throws <see cref="ModelLoaderException"/> after its wait.</summary>
    public bool LoaderThrows { get; init; }

    /// <summary>When set, the caller's token is cancelled this many milliseconds after the call starts.</summary>
    public double? CancelAfterMs { get; init; }

    /// <summary>Writes: which write.</summary>
    public WriteKind Write { get; init; }

    /// <summary><see cref="WriteKind.UserRoles"/>: the user's new roles.</summary>
    public string[] NewRoles { get; init; } = [];

    /// <summary><see cref="WriteKind.Blacklist"/>: the token's expiry relative to the call, in seconds (−5 to +600).</summary>
    public double ExpiryOffsetSeconds { get; init; }

    /// <summary>Proxy faults: the mode.</summary>
    public ProxyMode FaultMode { get; init; }

    /// <summary>Proxy faults in <see cref="ProxyMode.Delay"/>: the delay per chunk.</summary>
    public double FaultDelayMs { get; init; }

    /// <summary>Proxy faults and kills: how long the fault lasts.</summary>
    public double DurationMs { get; init; }

    /// <summary>Corruptions: the bytes written.</summary>
    public byte[] Garbage { get; init; } = [];

    /// <summary><see cref="OperationKind.CorruptRoleUsers"/>: a list instead of a string.</summary>
    public bool AsList { get; init; }
}

/// <summary>Settings of one run.</summary>
public sealed record HistoryRunOptions
{
    /// <summary>The seed: the whole schedule is a function of it.</summary>
    public required int Seed { get; init; }

    /// <summary>How long operations are issued.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How many cache instances (each behind its own proxy).</summary>
    public int Instances { get; init; } = 3;

    /// <summary>Whether proxy faults, server kills and corruptions are scheduled.</summary>
    public bool Faults { get; init; } = true;

    /// <summary>Whether kills may be scheduled (false for a server that cannot be restarted).</summary>
    public bool Kills { get; init; } = true;

    /// <summary>
    /// Whether the instances keep an in-process cache (L1) of every type; adds subscription faults (kills, messages lost
    /// to a full output buffer) to the schedule, after the others, so a seed's schedule without L1 is unchanged.
    /// </summary>
    public bool LocalCache { get; init; }

    /// <summary>Whether to check, after the run, that <c>rbac_epoch</c> stops moving (the library's bookkeeping).</summary>
    public bool CheckQuiescence { get; init; } = true;

    /// <summary>Mean gap between two reads, in milliseconds.</summary>
    public double MeanReadGapMs { get; init; } = 2.5;

    /// <summary>Mean gap between two writes, in milliseconds.</summary>
    public double MeanWriteGapMs { get; init; } = 25;
}

/// <summary>
/// Makes the operation schedule of a run from its seed: which operation, on which id, on which instance, with which
/// loader delay, failure and cancellation, which fault, at which offset. Everything is drawn here, before the run, from
/// one <see cref="Random"/> seeded with the seed, so the same seed always yields the same schedule. What a seed cannot
/// fix is the interleaving: operations run concurrently against real sockets and a real server, so a replay explores
/// the same schedule but not necessarily the same order of events inside it.
/// </summary>
public static class HistorySchedule
{
    /// <summary>The longest loader wait; longer than every TTL but the blacklisted one, so entries expire during loads.</summary>
    public static readonly TimeSpan MaxLoaderDelay = TimeSpan.FromMilliseconds(3500);

    /// <summary>Builds the universe and the schedule of <paramref name="options"/>.</summary>
    public static (HistoryUniverse Universe, IReadOnlyList<ScheduledOperation> Operations) Create(HistoryRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
#pragma warning disable CA5394 // Deterministic test randomness, not security.
        var random = new Random(options.Seed);
        string[] users = ["u0", "u1", "u2", "u3", "u4"];
        string[] roles = ["r0", "r1", "r2"];
        string[] tokens = [.. Enumerable.Range(0, 30).Select(i => "t" + i)];
        var initialRoles = users.ToDictionary(u => u, _ => RandomRoles(random, roles), StringComparer.Ordinal);
        var universe = new HistoryUniverse(users, roles, tokens, initialRoles);

        double duration = options.Duration.TotalMilliseconds;
        var ops = new List<ScheduledOperation>();
        int seq = 0;

        for (double at = Gap(random, options.MeanReadGapMs); at < duration; at += Gap(random, options.MeanReadGapMs))
        {
            var kind = Pick(random, [(EntityKind.UserContext, 35), (EntityKind.RolePermissions, 15), (EntityKind.UserBasic, 15), (EntityKind.TokenBlacklist, 20), (EntityKind.JwtPayload, 15)]);
            string id = kind switch
            {
                EntityKind.UserContext or EntityKind.UserBasic => users[random.Next(users.Length)],
                EntityKind.RolePermissions => roles[random.Next(roles.Length)],
                _ => tokens[random.Next(tokens.Length)],
            };
            double delay = LoaderDelay(random);
            if (at + delay > duration + 300)
            {
                delay = random.NextDouble() * 5; // keep the drain after the run short
            }

            ops.Add(new ScheduledOperation
            {
                Seq = seq++,
                AtMs = at,
                Kind = OperationKind.Read,
                Key = new EntityKey(kind, id),
                Instance = random.Next(options.Instances),
                LoaderDelayMs = delay,
                LoaderThrows = random.NextDouble() < 0.03,
                CancelAfterMs = random.NextDouble() < 0.08 ? random.NextDouble() * 300 : null,
            });
        }

        var unrevoked = new List<string>(tokens);
        for (double at = Gap(random, options.MeanWriteGapMs); at < duration; at += Gap(random, options.MeanWriteGapMs))
        {
            var write = Pick(random, [(WriteKind.UserRoles, 20), (WriteKind.RolePermissions, 20), (WriteKind.UserBasic, 20), (WriteKind.JwtPayload, 15), (WriteKind.Blacklist, 25)]);
            if (write == WriteKind.Blacklist && unrevoked.Count == 0)
            {
                write = WriteKind.UserBasic;
            }

            EntityKey key;
            string[] newRoles = [];
            double expiry = 0;
            switch (write)
            {
                case WriteKind.UserRoles:
                    key = new EntityKey(EntityKind.UserContext, users[random.Next(users.Length)]);
                    newRoles = RandomRoles(random, roles);
                    break;
                case WriteKind.RolePermissions:
                    key = new EntityKey(EntityKind.RolePermissions, roles[random.Next(roles.Length)]);
                    break;
                case WriteKind.UserBasic:
                    key = new EntityKey(EntityKind.UserBasic, users[random.Next(users.Length)]);
                    break;
                case WriteKind.JwtPayload:
                    key = new EntityKey(EntityKind.JwtPayload, tokens[random.Next(tokens.Length)]);
                    break;
                default:
                    int index = random.Next(unrevoked.Count);
                    key = new EntityKey(EntityKind.TokenBlacklist, unrevoked[index]);
                    unrevoked.RemoveAt(index);
                    double p = random.NextDouble();
                    expiry = p < 0.4 ? -1 + (2 * random.NextDouble()) : p < 0.6 ? -5 + (4 * random.NextDouble()) : 1 + (599 * random.NextDouble());
                    break;
            }

            ops.Add(new ScheduledOperation
            {
                Seq = seq++,
                AtMs = at,
                Kind = OperationKind.Write,
                Write = write,
                Key = key,
                Instance = random.Next(options.Instances),
                NewRoles = newRoles,
                ExpiryOffsetSeconds = expiry,
                CancelAfterMs = random.NextDouble() < 0.08 ? random.NextDouble() * 30 : null,
            });
        }

        if (options.Faults)
        {
            AddFaults(random, options, universe, ops, ref seq);
            if (options.LocalCache)
            {
                AddSubscriptionFaults(random, options, ops, ref seq);
            }
        }
#pragma warning restore CA5394

        return (universe, [.. ops.OrderBy(o => o.AtMs).ThenBy(o => o.Seq)]);
    }

#pragma warning disable CA5394
    private static void AddFaults(Random random, HistoryRunOptions options, HistoryUniverse universe, List<ScheduledOperation> ops, ref int seq)
    {
        double duration = options.Duration.TotalMilliseconds;
        for (int instance = 0; instance < options.Instances; instance++)
        {
            for (double at = 150 + Gap(random, 1200); ; at += Gap(random, 1500))
            {
                double length = 100 + (random.NextDouble() * 500);
                if (at + length > duration - 200)
                {
                    break;
                }

                var mode = Pick(random, [(ProxyMode.Delay, 40), (ProxyMode.Blackhole, 30), (ProxyMode.Reset, 30)]);
                ops.Add(new ScheduledOperation
                {
                    Seq = seq++,
                    AtMs = at,
                    Kind = OperationKind.ProxyFault,
                    Instance = instance,
                    FaultMode = mode,
                    FaultDelayMs = 20 + (random.NextDouble() * 280),
                    DurationMs = length,
                });
                at += length;
            }
        }

        if (options.Kills && random.NextDouble() < 0.35)
        {
            ops.Add(new ScheduledOperation
            {
                Seq = seq++,
                AtMs = duration * (0.2 + (0.5 * random.NextDouble())),
                Kind = OperationKind.ServerKill,
                DurationMs = 100 + (random.NextDouble() * 300),
            });
        }

        int corruptions = 1 + random.Next(4);
        for (int i = 0; i < corruptions; i++)
        {
            double at = duration * (0.1 + (0.75 * random.NextDouble()));
            var kind = Pick(random, [(OperationKind.CorruptValue, 50), (OperationKind.CorruptEpoch, 15), (OperationKind.CorruptRoleUsers, 35)]);
            var garbage = new byte[1 + random.Next(24)];
            random.NextBytes(garbage);
            var entity = Pick(random, [(EntityKind.UserContext, 1), (EntityKind.RolePermissions, 1), (EntityKind.UserBasic, 1), (EntityKind.TokenBlacklist, 1), (EntityKind.JwtPayload, 1)]);
            string id = kind == OperationKind.CorruptRoleUsers
                ? universe.Roles[random.Next(universe.Roles.Length)]
                : entity switch
                {
                    EntityKind.UserContext or EntityKind.UserBasic => universe.Users[random.Next(universe.Users.Length)],
                    EntityKind.RolePermissions => universe.Roles[random.Next(universe.Roles.Length)],
                    _ => universe.Tokens[random.Next(universe.Tokens.Length)],
                };
            ops.Add(new ScheduledOperation
            {
                Seq = seq++,
                AtMs = at,
                Kind = kind,
                Key = new EntityKey(kind == OperationKind.CorruptRoleUsers ? EntityKind.RolePermissions : entity, id),
                Garbage = garbage,
                AsList = random.NextDouble() < 0.5,
            });
        }
    }

    private static void AddSubscriptionFaults(Random random, HistoryRunOptions options, List<ScheduledOperation> ops, ref int seq)
    {
        double duration = options.Duration.TotalMilliseconds;
        for (double at = 100 + Gap(random, 600); at < duration - 300; at += Gap(random, 700))
        {
            var kind = Pick(random, [(OperationKind.SubscriptionKill, 60), (OperationKind.PubSubOverflow, 40)]);
            double length = 50 + (random.NextDouble() * 250);
            ops.Add(new ScheduledOperation { Seq = seq++, AtMs = at, Kind = kind, DurationMs = length });
            at += length;
        }
    }

    private static string[] RandomRoles(Random random, string[] roles)
    {
        int count = 1 + random.Next(2);
        return [.. roles.OrderBy(_ => random.Next()).Take(count).Order(StringComparer.Ordinal)];
    }

    private static double Gap(Random random, double mean) => -mean * Math.Log(1 - random.NextDouble());

    private static double LoaderDelay(Random random)
    {
        double p = random.NextDouble();
        return p switch
        {
            < 0.70 => random.NextDouble() * 5,
            < 0.90 => 5 + (random.NextDouble() * 95),
            < 0.97 => 300 + (random.NextDouble() * 1200),
            _ => 1500 + (random.NextDouble() * (MaxLoaderDelay.TotalMilliseconds - 1500)),
        };
    }

    private static T Pick<T>(Random random, (T Value, int Weight)[] choices)
    {
        int roll = random.Next(choices.Sum(c => c.Weight));
        foreach (var (value, weight) in choices)
        {
            if (roll < weight)
            {
                return value;
            }

            roll -= weight;
        }

        return choices[^1].Value;
    }
#pragma warning restore CA5394
}
