using Testcontainers.Redis;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>
/// A Redis container (Testcontainers) whose port 6379 is published on a fixed free host port, so a stop/start keeps
/// the endpoint. "Kill" stops the container (Docker stop); data does not survive (no volume).
/// </summary>
internal sealed class ContainerRedisBackend : IRedisServerBackend
{
    internal const string Image = "redis:7.2";

    private readonly RedisContainer _container;
    private readonly RedisServerOptions _options;
    private bool _running;

    public ContainerRedisBackend(RedisServerOptions options)
    {
        _options = options;
        Port = options.Port ?? RedisServer.GetFreePort();
        _container = new RedisBuilder(Image).WithPortBinding(Port, 6379).Build();
    }

    public RedisServerKind Kind => RedisServerKind.Container;

    public string Host => _container.Hostname is "localhost" ? "127.0.0.1" : _container.Hostname;

    public int Port { get; }

    public string? Password => null;

    public bool CanRestart => true;

    public bool IsRunning => _running;

    public string RecentOutput => string.Empty;

    public string Describe() => $"Testcontainers {Image} at {Host}:{Port}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromMinutes(2)); // includes an image pull on first use
        await _container.StartAsync(cts.Token);
        if (!await ServerProbe.WaitUntilAnswersAsync(Host, Port, false, _options.StartTimeout, () => true, cancellationToken))
        {
            throw new InvalidOperationException($"Redis container did not answer PING on {Host}:{Port}.");
        }

        _running = true;
    }

    public async Task KillAsync()
    {
        _running = false;
        await _container.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _running = false;
        await _container.DisposeAsync();
    }
}
