using BendCare.Cache.IntegrationTests.Infrastructure;

namespace BendCare.Cache.ReferenceService.Tests.Support;

public static class TestSettings
{
    /// <summary>An instance pointed at <paramref name="server"/> through <c>REDIS_HOST</c>/<c>REDIS_PORT</c>, with a key prefix and database of its test's own.</summary>
    public static ServiceSettings For(RedisServer server, string keyPrefix, TempDatabase database) => new()
    {
        RedisHost = server.Host,
        RedisPort = server.Port,
        RedisPassword = server.Password,
        KeyPrefix = keyPrefix,
        DatabasePath = database.Path,
    };
}
