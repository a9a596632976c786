namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>Where the Redis-compatible server under test comes from, in the order they are tried.</summary>
public enum RedisServerKind
{
    /// <summary>An endpoint named by the environment variable <c>BENDCARE_TEST_REDIS</c>; not controlled by the tests.</summary>
    External,

    /// <summary>A Redis container started by Testcontainers (only outside CI, only when a Docker engine answers).</summary>
    Container,

    /// <summary>A <c>redis-server</c>/<c>valkey-server</c> process started from PATH on a free loopback port.</summary>
    Binary,

    /// <summary>An embedded Microsoft Garnet server in this process (only outside CI).</summary>
    Garnet,
}
