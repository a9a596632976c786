using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.Topology;

/// <summary>
/// The ACL rules an application user needs, found empirically against a real server (every command the library and
/// StackExchange.Redis send, nothing else; see docs/configuration.md). The tests prove that with these rules every
/// public member works and the server's ACL LOG stays empty for the user.
/// </summary>
internal static class AclRules
{
    /// <summary>What the library itself sends: reads, writes with TTLs, the role sets and epoch, the compare-and-set script.</summary>
    public const string DataCommands =
        "+get +set +setex +psetex +del +type +incr +exists +smembers +zadd +zrem +zscore +zrangebyscore +pttl +pexpire +time +eval +evalsha +script|load";

    /// <summary>
    /// What StackExchange.Redis sends on each connection and as keep-alive. ECHO (the handshake's tracer) and PING
    /// (keep-alive) are required: without ECHO no connection completes, without PING a connection fails at its first
    /// keep-alive. The others are tolerated when refused but then show up in ACL LOG on every connect; CLUSTER
    /// NODES/SLOTS are how the client learns a cluster's slot map, and READONLY is sent to each cluster replica.
    /// </summary>
    public const string HandshakeCommands =
        "+ping +echo +info +client|setname +client|id +cluster|nodes +cluster|slots +readonly";

    /// <summary>StackExchange.Redis' defaults: it reads the tie-breaker key and subscribes to the configuration channel.</summary>
    public const string TieBreakerAndConfigurationChannel =
        "%R~__Booksleeve_TieBreak &__Booksleeve_MasterChanged +subscribe";

    /// <summary>
    /// The rule for the library as it configures StackExchange.Redis: keys under <paramref name="keyPrefix"/> only,
    /// no pub/sub, no CONFIG (restricted on ElastiCache anyway), exactly the commands sent.
    /// <c>CLIENT SETINFO</c> is sent (and only exists) from Redis/Valkey 7.2 on.
    /// </summary>
    public static string ForLibrary(string keyPrefix, Version serverVersion) =>
        $"-@all resetchannels ~{keyPrefix}* {DataCommands} {HandshakeCommands}{SetInfo(serverVersion)}";

    /// <summary>
    /// The longer rule for a connection whose <see cref="BendCareCacheOptions.ConfigureConnection"/> restores the
    /// client's defaults (<see cref="ClientDefaults"/>): the tie-breaker key read-only, one pub/sub channel, CONFIG GET.
    /// </summary>
    public static string ForClientDefaults(string keyPrefix, Version serverVersion) =>
        $"-@all resetchannels ~{keyPrefix}* {DataCommands} {HandshakeCommands} +config|get {TieBreakerAndConfigurationChannel}{SetInfo(serverVersion)}";

    /// <summary>Restores what the library turns off: the tie-breaker read, the configuration channel, CONFIG GET.</summary>
    public static void ClientDefaults(ConfigurationOptions options)
    {
        options.TieBreaker = "__Booksleeve_TieBreak";
        options.ConfigurationChannel = "__Booksleeve_MasterChanged";
        options.CommandMap = CommandMap.Default;
    }

    /// <summary>Creates (or replaces) a user with a password and the given space-separated ACL rules, through an admin connection.</summary>
    public static async Task CreateUserAsync(IServer admin, string user, string password, string rules)
    {
        var args = new List<object> { "SETUSER", user, "reset", "on", ">" + password };
        args.AddRange(rules.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var reply = await admin.ExecuteAsync("ACL", [.. args]);
        Assert.Equal("OK", reply.ToString());
    }

    /// <summary>The server's ACL LOG entries for one user, as <c>reason:object(context) xcount</c>.</summary>
    public static async Task<IReadOnlyList<string>> DenialsForAsync(IServer admin, string user)
    {
        var entries = (RedisResult[])(await admin.ExecuteAsync("ACL", "LOG", "1000"))!;
        var denials = new List<string>();
        foreach (var entry in entries)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            var pairs = (RedisResult[])entry!;
            for (int i = 0; i + 1 < pairs.Length; i += 2)
            {
                fields[pairs[i].ToString()] = pairs[i + 1].ToString();
            }

            if (fields.GetValueOrDefault("username") == user)
            {
                denials.Add($"{fields.GetValueOrDefault("reason")}:{fields.GetValueOrDefault("object")}({fields.GetValueOrDefault("context")}) x{fields.GetValueOrDefault("count")}");
            }
        }

        return denials;
    }

    private static string SetInfo(Version serverVersion) => serverVersion >= new Version(7, 2) ? " +client|setinfo" : "";
}
