using System.Net;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// One circuit breaker per primary endpoint, so on a multi-shard cluster a dead primary costs only its own keys. A
/// standalone server has one breaker (<see cref="Main"/>). The request path reads one immutable snapshot: the hash
/// slot of the operation's key indexes an array of breakers rebuilt when the topology changes (no allocation, no lock
/// per call). <see cref="Main"/> also serves keys whose primary is not known yet and stands for the connection as a
/// whole (a failed connect attempt trips it).
/// </summary>
/// <remarks>
/// Longer than the other files on purpose: the routing snapshot, its rebuild from the cluster's slot map and the two
/// ways slots move (a MOVED reply, a promoted replica) change one immutable state together, and are easiest to check
/// for races when read in one place.
/// </remarks>
internal sealed class EndpointBreakers
{
    private const int SlotCount = 16384;

    private readonly Func<CircuitBreaker> _create;
    private readonly object _gate = new();
    private volatile Routing _routing;

    public EndpointBreakers(Func<CircuitBreaker> create)
    {
        _create = create;
        Main = create();
        _routing = new Routing(null, null, NoneSeen(), null, new Dictionary<EndPoint, CircuitBreaker>(), [new(null, Main)]);
    }

    /// <summary>The breaker of a standalone server, of keys with no known primary, and of the connection as a whole.</summary>
    public CircuitBreaker Main { get; }

    /// <summary>Every breaker in use with its endpoint (<see langword="null"/> for <see cref="Main"/>).</summary>
    public IReadOnlyList<KeyValuePair<EndPoint?, CircuitBreaker>> All => _routing.All;

    /// <summary>The worst state over every breaker in use: what the gauge and the health check show.</summary>
    public BreakerState State
    {
        get
        {
            var worst = BreakerState.Closed;
            foreach (var (_, breaker) in _routing.All)
            {
                if (breaker.State > worst)
                {
                    worst = breaker.State;
                }
            }

            return worst;
        }
    }

    public bool AllClosed => State == BreakerState.Closed;

    /// <summary>Whether the slot map of a cluster is in use.</summary>
    public bool IsCluster => _routing.Slots is not null;

    /// <summary>How many breakers in use are not closed.</summary>
    public int NotClosed => _routing.All.Count(p => p.Value.State != BreakerState.Closed);

    /// <summary>The breaker deciding for an operation on <paramref name="route"/>.</summary>
    public CircuitBreaker For(in RedisKey route)
    {
        var routing = _routing;
        var slots = routing.Slots;
        if (slots is null)
        {
            return Main;
        }

        int slot = routing.Multiplexer!.HashSlot(route);
        return (uint)slot < (uint)slots.Length ? slots[slot] : Main;
    }

    /// <summary>
    /// The breaker of <paramref name="endpoint"/> when it is a primary this connection routes to; <see cref="Main"/> on
    /// a standalone server; <see langword="null"/> for a cluster node that serves none of our keys (a replica).
    /// </summary>
    public CircuitBreaker? ForEndpoint(EndPoint? endpoint)
    {
        var routing = _routing;
        if (routing.Slots is null)
        {
            return Main;
        }

        return endpoint is not null && routing.ByEndpoint.TryGetValue(endpoint, out var breaker) ? breaker : null;
    }

    /// <summary>
    /// Rebuilds the slot map from the cluster configuration the client holds (no network call); a standalone server
    /// keeps the single breaker. Breakers of endpoints that stay primaries keep their state; a newly promoted primary
    /// starts closed; an endpoint that serves no slot any more drops out. Returns whether anything changed.
    /// </summary>
    public bool Rebuild(IConnectionMultiplexer multiplexer, bool force = false)
    {
        lock (_gate)
        {
            var current = _routing;
            if (!ReferenceEquals(current.Multiplexer, multiplexer))
            {
                // A new multiplexer: nothing it holds was seen before.
                current = current with { Multiplexer = null, Configuration = null, Seen = NoneSeen() };
            }

            var (isCluster, configuration, seen) = ReadTopology(multiplexer, current);
            if (!isCluster)
            {
                if (current.Slots is null && ReferenceEquals(current.Multiplexer, multiplexer))
                {
                    return false;
                }

                _routing = new Routing(multiplexer, null, NoneSeen(), null, new Dictionary<EndPoint, CircuitBreaker>(), [new(null, Main)]);
                return true;
            }

            if (configuration is null || (!force && ReferenceEquals(configuration, current.Configuration) && ReferenceEquals(current.Multiplexer, multiplexer)))
            {
                _routing = _routing with { Seen = seen };
                return false;
            }

            var slots = new CircuitBreaker[SlotCount];
            Array.Fill(slots, Main);
            var byEndpoint = new Dictionary<EndPoint, CircuitBreaker>();
            foreach (var node in configuration.Nodes)
            {
                if (node.IsReplica || node.EndPoint is not { } endpoint || node.Slots.Count == 0)
                {
                    continue;
                }

                if (!byEndpoint.TryGetValue(endpoint, out var breaker))
                {
                    breaker = current.ByEndpoint.TryGetValue(endpoint, out var kept) ? kept : _create();
                    byEndpoint[endpoint] = breaker;
                }

                foreach (var range in node.Slots)
                {
                    for (int slot = Math.Max(range.From, 0); slot <= range.To && slot < SlotCount; slot++)
                    {
                        slots[slot] = breaker;
                    }
                }
            }

            _routing = new Routing(multiplexer, configuration, seen, slots, byEndpoint, WithMain(byEndpoint));
            return true;
        }
    }

    /// <summary>The client followed a MOVED: that slot's keys now live on <paramref name="endpoint"/>.</summary>
    public void MoveSlot(int slot, EndPoint? endpoint)
    {
        if ((uint)slot >= SlotCount || endpoint is null)
        {
            return;
        }

        lock (_gate)
        {
            var current = _routing;
            if (current.Slots is null)
            {
                return;
            }

            if (!current.ByEndpoint.TryGetValue(endpoint, out var breaker))
            {
                var byEndpoint = new Dictionary<EndPoint, CircuitBreaker>(current.ByEndpoint) { [endpoint] = breaker = _create() };
                _routing = current = current with { ByEndpoint = byEndpoint, All = WithMain(byEndpoint) };
            }

            // A reference write: a concurrent reader sees the old or the new breaker, either is a valid answer.
            current.Slots[slot] = breaker;
        }
    }

    /// <summary>
    /// Where the client itself now sends <paramref name="endpoint"/>'s keys (its own slot map, updated by its
    /// reconfigurations and MOVED replies; no network call): when that is another connected primary (a promoted
    /// replica), the slots follow it. Returns whether they moved.
    /// </summary>
    public bool FollowClientRouting(IConnectionMultiplexer multiplexer, EndPoint endpoint)
    {
        var routing = _routing;
        if (routing.Slots is not { } slots || !routing.ByEndpoint.TryGetValue(endpoint, out var breaker))
        {
            return false;
        }

        int slot = Array.IndexOf(slots, breaker);
        if (slot < 0)
        {
            return false;
        }

        IServer server;
        try
        {
            server = multiplexer.GetServer(KeyInSlot(multiplexer, slot), flags: CommandFlags.DemandMaster);
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or RedisException)
        {
            return false;
        }

        // Only to a primary we do not route to yet (the promoted replica): when the client has no primary for the slot
        // it may name any server, and moving the slots onto a healthy shard's breaker would let them open it.
        if (server.EndPoint is not { } moved || routing.ByEndpoint.ContainsKey(moved) || !server.IsConnected || server.IsReplica)
        {
            return false;
        }

        // A host name may be the client's alias of a DNS seed (ElastiCache's configuration endpoint, "localhost") for some
        // healthy node: follow it only when the cluster itself names it as that slot's primary. (An address comes from the
        // cluster's own node list; the promoted node's cached configuration may still be the one from before.)
        if (moved is DnsEndPoint && !OwnsSlot(server, moved, slot))
        {
            return false;
        }

        lock (_gate)
        {
            var current = _routing;
            if (!ReferenceEquals(current.Slots, slots) || current.ByEndpoint.ContainsKey(moved))
            {
                return false;
            }

            var target = _create();
            var byEndpoint = new Dictionary<EndPoint, CircuitBreaker>(current.ByEndpoint) { [moved] = target };
            for (int i = 0; i < slots.Length; i++)
            {
                if (ReferenceEquals(slots[i], breaker))
                {
                    slots[i] = target;
                }
            }

            byEndpoint.Remove(endpoint);
            _routing = current with { ByEndpoint = byEndpoint, All = WithMain(byEndpoint) };
            return true;
        }
    }

    private static bool OwnsSlot(IServer server, EndPoint endpoint, int slot)
    {
        try
        {
            var node = server.ClusterConfiguration?.GetBySlot(slot);
            return node is { IsReplica: false, EndPoint: { } owner } && owner.Equals(endpoint);
        }
        catch (Exception ex) when (ex is InvalidOperationException or NotSupportedException or RedisException)
        {
            return false;
        }
    }

    /// <summary>A short key whose hash slot is <paramref name="slot"/> (found by trying hash tags; about 16 000 tries).</summary>
    private static RedisKey KeyInSlot(IConnectionMultiplexer multiplexer, int slot)
    {
        for (int i = 0; i < 1_000_000; i++)
        {
            RedisKey key = "{" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}";
            if (multiplexer.HashSlot(key) == slot)
            {
                return key;
            }
        }

        throw new InvalidOperationException("No key found for the slot.");
    }

    private KeyValuePair<EndPoint?, CircuitBreaker>[] WithMain(Dictionary<EndPoint, CircuitBreaker> byEndpoint) =>
        [new(null, Main), .. byEndpoint.Select(static p => new KeyValuePair<EndPoint?, CircuitBreaker>(p.Key, p.Value))];

    /// <summary>
    /// Whether the servers are a cluster, and the freshest cluster configuration the client holds. The client keeps one
    /// configuration per server but refreshes only the one(s) it queried, so a configuration object not seen at the
    /// last rebuild is the newest view; without one, the configuration in use stays.
    /// </summary>
    private static (bool IsCluster, ClusterConfiguration? Configuration, HashSet<ClusterConfiguration> Seen) ReadTopology(IConnectionMultiplexer multiplexer, Routing current)
    {
        var seen = NoneSeen();
        IServer[] servers;
        try
        {
            servers = multiplexer.GetServers();
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or RedisException)
        {
            return (current.Slots is not null, null, seen);
        }

        bool isCluster = false;
        ClusterConfiguration? fresh = null;
        ClusterConfiguration? first = null;
        bool currentStillHeld = false;
        foreach (var server in servers)
        {
            if (server.ServerType != ServerType.Cluster)
            {
                continue;
            }

            isCluster = true;
            if (server.ClusterConfiguration is not { } configuration)
            {
                continue;
            }

            seen.Add(configuration);
            currentStillHeld |= ReferenceEquals(configuration, current.Configuration);
            if (!server.IsConnected)
            {
                continue;
            }

            first ??= server.IsReplica ? null : configuration;
            if (fresh is null && !current.Seen.Contains(configuration))
            {
                fresh = configuration;
            }
        }

        var chosen = fresh ?? (currentStillHeld ? current.Configuration : first);
        return (isCluster || current.Slots is not null, chosen, seen);
    }

    private static HashSet<ClusterConfiguration> NoneSeen() => new(ReferenceEqualityComparer.Instance);

    private sealed record Routing(
        IConnectionMultiplexer? Multiplexer,
        ClusterConfiguration? Configuration,
        HashSet<ClusterConfiguration> Seen,
        CircuitBreaker[]? Slots,
        Dictionary<EndPoint, CircuitBreaker> ByEndpoint,
        KeyValuePair<EndPoint?, CircuitBreaker>[] All);
}
