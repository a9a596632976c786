using System.Net;
using StackExchange.Redis;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>A server named by <c>BENDCARE_TEST_REDIS</c> (<c>host:port[,password=..]</c>); never killed or restarted.</summary>
internal sealed class ExternalRedisBackend : IRedisServerBackend
{
    private ExternalRedisBackend(string host, int port, string? password)
    {
        Host = host;
        Port = port;
        Password = password;
    }

    public RedisServerKind Kind => RedisServerKind.External;

    public string Host { get; }

    public int Port { get; }

    public string? Password { get; }

    public bool CanRestart => false;

    public bool IsRunning => true;

    public string RecentOutput => string.Empty;

    public static ExternalRedisBackend Parse(string value)
    {
        var parsed = ConfigurationOptions.Parse(value);
        if (parsed.EndPoints.Count != 1)
        {
            throw new InvalidOperationException($"{RedisServer.EndpointVariable} must name exactly one host:port, got {parsed.EndPoints.Count}.");
        }

        var (host, port) = parsed.EndPoints[0] switch
        {
            DnsEndPoint dns => (dns.Host, dns.Port),
            IPEndPoint ip => (ip.Address.ToString(), ip.Port),
            var other => throw new InvalidOperationException($"Unsupported endpoint {other} in {RedisServer.EndpointVariable}."),
        };
        return new ExternalRedisBackend(host, port == 0 ? 6379 : port, parsed.Password);
    }

    public string Describe() => $"external server from {RedisServer.EndpointVariable} at {Host}:{Port}" + (Password is null ? string.Empty : " (password set)");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!await ServerProbe.WaitUntilAnswersAsync(Host, Port, false, TimeSpan.FromSeconds(5), () => true, cancellationToken))
        {
            throw new InvalidOperationException($"{RedisServer.EndpointVariable} names {Host}:{Port}, which does not answer PING.");
        }
    }

    public Task KillAsync() => throw new NotSupportedException($"The external server from {RedisServer.EndpointVariable} cannot be killed or restarted.");

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
