using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>
/// One real server for the whole test run of an assembly, shared by every class marked
/// <c>[Collection(SharedRedisFixture.CollectionName)]</c> (those classes run one after another); each test assembly
/// binds it to that collection with its own <c>[CollectionDefinition]</c>, which xunit looks for in the test assembly.
/// Tests isolate their data with <see cref="NewKeyPrefix"/> instead of flushing. Do not kill this server: start your own with
/// <see cref="RedisServer.StartAsync(RedisServerOptions, CancellationToken)"/> for crash/restart tests.
/// </summary>
public sealed class SharedRedisFixture(IMessageSink messageSink) : IAsyncLifetime
{
    /// <summary>Name of the xunit collection that shares this fixture.</summary>
    public const string CollectionName = "redis";

    private RedisServer? _server;

    /// <summary>The shared server.</summary>
    public RedisServer Server => _server ?? throw new InvalidOperationException("The shared Redis server has not been started.");

    /// <summary>Connection string of the shared server.</summary>
    public string ConnectionString => Server.ConnectionString;

    /// <summary>A key prefix no other test uses: <c>t{guid}:</c>.</summary>
    public static string NewKeyPrefix() => $"t{Guid.NewGuid():N}:";

    /// <summary>An admin connection (allowAdmin) to the shared server; the caller disposes it.</summary>
    public Task<IConnectionMultiplexer> ConnectAdminAsync() => Server.ConnectAdminAsync();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync();
        messageSink.OnMessage(new DiagnosticMessage($"[SharedRedisFixture] {RedisServer.Description}"));
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }
}
