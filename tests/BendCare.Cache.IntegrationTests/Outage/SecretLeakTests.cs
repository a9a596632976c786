using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using BendCare.Cache.IntegrationTests.Support;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Outage;

/// <summary>
/// Under every fault the suite knows, 50 concurrent callers check and revoke tokens whose ids (and raw tokens, and the
/// client's password) carry one long recognisable secret. Whatever the client library puts in its exception messages,
/// the secret must appear in no log message or logged exception, no health-check description or data, no metric tag
/// and no last-error text: only shortened ids and masked passwords may leave the library.
/// </summary>
public sealed class SecretLeakTests(ITestOutputHelper output)
{
    private const int Callers = 50;
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(1.2);

    public static TheoryData<string, string> Faults
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string fault in new[] { "refused", "blackhole-from-start", "blackhole-after-connecting", "latency", "reset", "killed-and-restarted", "wrong-password", "tls-against-plain" })
            {
                // The fault hits operations in flight, or operations issued right after it (before the client has
                // noticed): the client library words its exceptions differently in each case.
                data.Add(fault, "during-calls");
                data.Add(fault, "before-calls");
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task No_token_id_password_or_raw_token_leaves_the_library_under_fault(string fault, string timing)
    {
        // The secret is in the middle of every id: a shortened id keeps only its first characters.
        string secret = "S3CR3T" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N");
        string clientPassword = "pw-" + secret;
        string serverPassword = fault == "wrong-password" ? "the-right-one" : clientPassword;
        using var telemetry = new TelemetryCapture();
        await using var server = await RedisServer.StartAsync(new RedisServerOptions
        {
            RequireRestartable = fault == "killed-and-restarted",
            ExtraArgs = ["--requirepass", serverPassword],
        });
        await using var proxy = new TcpFaultProxy(server.Host, server.Port);
        proxy.Refuse();
        bool viaProxy = fault is "refused" or "blackhole-from-start" or "blackhole-after-connecting" or "latency" or "reset";
        if (fault == "blackhole-from-start")
        {
            proxy.Blackhole();
        }

        if (viaProxy && fault != "refused")
        {
            proxy.Start();
        }

        bool connectFirst = fault is "blackhole-after-connecting" or "latency" or "reset" or "killed-and-restarted";
        await using var host = await CacheHost.StartAsync(
            viaProxy ? "127.0.0.1" : server.Host,
            viaProxy ? proxy.Port : server.Port,
            SharedRedisFixture.NewKeyPrefix(),
            o =>
            {
                o.OperationTimeout = new BendCareCacheOptions().OperationTimeout;
                o.Password = clientPassword;
                o.ConnectTimeout = TimeSpan.FromSeconds(1);
                o.UseTls = fault == "tls-against-plain";
            },
            waitForConnection: connectFirst);

        Func<Task> inflict = fault switch
        {
            "blackhole-after-connecting" => () => Run(proxy.Blackhole),
            "latency" => () => Run(() => proxy.Delay(TimeSpan.FromMilliseconds(400))),
            "reset" => () => Run(() =>
            {
                proxy.Reset();
                proxy.DropAll();
            }),
            "killed-and-restarted" => server.KillAsync,
            _ => () => Task.CompletedTask,
        };

        await HammerAsync(host, secret, timing == "during-calls", inflict);
        var check = (IHealthCheck)host.Services.GetService(typeof(RedisCacheHealthCheck))!;
        var duringFault = await check.CheckHealthAsync(new HealthCheckContext());
        string lastError = host.Connection.LastError ?? "";

        // Recovery (or not) is part of the story: the texts written while it happens count too.
        if (fault == "killed-and-restarted")
        {
            await server.RestartAsync();
        }
        else if (viaProxy)
        {
            proxy.Pass();
            proxy.Start();
            proxy.DropAll();
        }

        await HammerAsync(host, secret, duringCalls: false, () => Task.CompletedTask);
        var afterwards = await check.CheckHealthAsync(new HealthCheckContext());

        var texts = new List<(string Where, string Text)>();
        foreach (var entry in host.Logs.Entries)
        {
            texts.Add(($"log {entry.EventId.Id}", entry.Message));
            if (entry.Exception is not null)
            {
                texts.Add(($"log {entry.EventId.Id} exception", entry.Exception.ToString()));
            }
        }

        foreach (var (name, result) in new[] { ("during", duringFault), ("after", afterwards) })
        {
            texts.Add(($"health {name} description", result.Description ?? ""));
            texts.Add(($"health {name} exception", result.Exception?.ToString() ?? ""));
            texts.AddRange(result.Data.Select(d => ($"health {name} data {d.Key}", $"{d.Value}")));
        }

        texts.Add(("last error", lastError));
        texts.AddRange(telemetry.Tags.Select(t => ("metric tag", t)));

        output.WriteLine($"{fault} {timing}: health during the fault {duringFault.Status}; last error: {lastError}");
        var leaks = texts.Where(t => t.Text.Contains(secret, StringComparison.Ordinal)).ToList();
        Assert.True(leaks.Count == 0, $"{leaks.Count} text(s) hold the secret: " + string.Join(" | ", leaks.Take(3).Select(l => $"{l.Where}: {l.Text}")));
        Assert.Equal(HealthStatus.Degraded, duringFault.Status);
    }

    private static Task Run(Action action)
    {
        action();
        return Task.CompletedTask;
    }

    /// <summary>
    /// 50 callers check, read and revoke tokens (each id and raw token unique and carrying the secret) for a while;
    /// <paramref name="inflict"/> runs a little after they started, so operations are in flight when the fault hits.
    /// </summary>
    private static async Task HammerAsync(CacheHost host, string secret, bool duringCalls, Func<Task> inflict)
    {
        if (!duringCalls)
        {
            await inflict();
            inflict = () => Task.CompletedTask;
        }

        var until = DateTime.UtcNow + Phase;
        var workers = Enumerable.Range(0, Callers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; DateTime.UtcNow < until; i++)
            {
                string id = $"t{w:D2}{i:D5}-{secret}";
                string raw = $"eyJhbGciOiJIUzI1NiJ9.{secret}.{w}-{i}";
                switch (i % 4)
                {
                    case 0:
                        Assert.False(await host.Cache.IsTokenBlacklistedAsync(id, static _ => ValueTask.FromResult(false)));
                        break;
                    case 1:
                        await host.Cache.GetJwtPayloadAsync(id, raw, _ => ValueTask.FromResult<JwtPayload?>(Models.JwtPayload(id)));
                        break;
                    case 2:
                        await host.Cache.BlacklistTokenAsync(id, DateTimeOffset.UtcNow.AddMinutes(10));
                        break;
                    default:
                        await host.Cache.InvalidateJwtPayloadAsync(id);
                        break;
                }

                await Task.Yield();
            }
        })).ToArray();
        await Task.Delay(200);
        await inflict();
        await Task.WhenAll(workers);
    }

    /// <summary>Every tag value of every measurement of the library's meter, observable instruments included.</summary>
    private sealed class TelemetryCapture : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, byte> _tags = new(StringComparer.Ordinal);

        public TelemetryCapture()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == CacheMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, _, tags, _) => Keep(tags));
            _listener.SetMeasurementEventCallback<int>((_, _, tags, _) => Keep(tags));
            _listener.SetMeasurementEventCallback<double>((_, _, tags, _) => Keep(tags));
            _listener.Start();
        }

        public IEnumerable<string> Tags
        {
            get
            {
                _listener.RecordObservableInstruments();
                return [.. _tags.Keys];
            }
        }

        public void Dispose() => _listener.Dispose();

        private void Keep(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                _tags.TryAdd($"{tag.Key}={tag.Value}", 0);
            }
        }
    }
}
