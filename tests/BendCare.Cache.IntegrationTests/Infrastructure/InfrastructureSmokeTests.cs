using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>Proves the test infrastructure itself against a real server: the server chain, kill/restart, the fault proxy.</summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed class InfrastructureSmokeTests(SharedRedisFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan NoAnswerWindow = TimeSpan.FromMilliseconds(750);

    [Fact]
    public async Task Shared_server_answers_ping()
    {
        output.WriteLine(RedisServer.Description);
        await using var admin = await fixture.ConnectAdminAsync();

        var reply = await admin.GetDatabase().ExecuteAsync("PING");

        Assert.Equal("PONG", reply.ToString());
    }

    [Fact]
    public async Task Shared_server_stores_values_with_ttl_visible_to_the_admin_connection()
    {
        var key = SharedRedisFixture.NewKeyPrefix() + "k";
        await using var admin = await fixture.ConnectAdminAsync();
        var db = admin.GetDatabase();

        await db.StringSetAsync(key, "v", TimeSpan.FromMinutes(1));

        Assert.Equal("v", (string?)await db.StringGetAsync(key));
        var ttl = await db.KeyTimeToLiveAsync(key);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.Equal(RedisType.String, await db.KeyTypeAsync(key));
    }

    [Fact]
    public void Key_prefixes_are_unique_and_colon_terminated()
    {
        var a = SharedRedisFixture.NewKeyPrefix();
        var b = SharedRedisFixture.NewKeyPrefix();

        Assert.NotEqual(a, b);
        Assert.StartsWith("t", a, StringComparison.Ordinal);
        Assert.EndsWith(":", a, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Killed_server_restarts_on_the_same_port()
    {
        await using var server = await RedisServer.StartAsync();
        output.WriteLine(server.ToString());
        if (!server.CanRestart)
        {
            Assert.Equal(RedisServerKind.External, server.Kind);
            await Assert.ThrowsAsync<NotSupportedException>(server.KillAsync);
            return;
        }

        var port = server.Port;
        var options = server.CreateConfiguration();
        options.AsyncTimeout = 1000;
        options.ConnectTimeout = 1000;
        await using var client = await ConnectionMultiplexer.ConnectAsync(options);
        Assert.Equal("PONG", (await client.GetDatabase().ExecuteAsync("PING")).ToString());

        await server.KillAsync();

        Assert.False(server.IsRunning);
        var whileDown = await Record.ExceptionAsync(() => client.GetDatabase().ExecuteAsync("PING"));
        Assert.True(whileDown is RedisConnectionException or RedisTimeoutException, $"expected a connection failure, got {whileDown}");
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectOnceAsync(server.ConnectionString));

        await server.RestartAsync();

        Assert.True(server.IsRunning);
        Assert.Equal(port, server.Port);
        await using (var fresh = await server.ConnectAdminAsync())
        {
            Assert.Equal("PONG", (await fresh.GetDatabase().ExecuteAsync("PING")).ToString());
        }

        // The client that saw the crash reconnects to the same endpoint on its own (bounded wait).
        Assert.True(await EventuallyAsync(async () => (await client.GetDatabase().ExecuteAsync("PING")).ToString() == "PONG", TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Never_started_server_refuses_connections_until_started()
    {
        await using var server = await RedisServer.CreateStoppedAsync();
        output.WriteLine(server.ToString());

        Assert.False(server.IsRunning);
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectOnceAsync(server.ConnectionString));

        await server.RestartAsync();

        await using var admin = await server.ConnectAdminAsync();
        Assert.Equal("PONG", (await admin.GetDatabase().ExecuteAsync("PING")).ToString());
    }

    [Fact]
    public async Task Free_port_has_no_listener()
    {
        var port = RedisServer.GetFreePort();

        var error = await Record.ExceptionAsync(() => RawRequestAsync(port, "PING\r\n"));

        Assert.IsType<SocketException>(error, exactMatch: false);
        Assert.NotEqual(port, RedisServer.GetFreePort());
    }

    [Fact]
    public async Task Binary_server_takes_extra_args()
    {
        await using var server = await RedisServer.StartAsync(extraArgs: ["--requirepass", "s3cret-pw"]);
        output.WriteLine(server.ToString());

        Assert.Equal(RedisServerKind.Binary, server.Kind);
        Assert.Equal("s3cret-pw", server.Password);
        Assert.StartsWith("-NOAUTH", await RawRequestAsync(server.Port, "PING\r\n"), StringComparison.Ordinal);
        await using var admin = await server.ConnectAdminAsync();
        Assert.Equal("PONG", (await admin.GetDatabase().ExecuteAsync("PING")).ToString());
    }

    [Fact]
    public async Task Flush_all_empties_an_own_server()
    {
        await using var server = await RedisServer.StartAsync(new RedisServerOptions { RequireRestartable = true });
        await using var admin = await server.ConnectAdminAsync();
        var db = admin.GetDatabase();
        await db.StringSetAsync("a", "1");
        await db.StringSetAsync("b", "2");

        await server.FlushAllAsync();

        Assert.False(await db.KeyExistsAsync("a"));
        Assert.False(await db.KeyExistsAsync("b"));
    }

    [Fact]
    public void Ci_runs_against_the_redis_server_binary_or_the_configured_endpoint()
    {
        var kind = fixture.Server.Kind;
        output.WriteLine($"shared server: {fixture.Server} (CI={RedisServer.IsCi})");

        Assert.True(!RedisServer.IsCi || kind is RedisServerKind.Binary or RedisServerKind.External, $"CI must use the binary or {RedisServer.EndpointVariable}; got {kind}");
    }

    [Fact]
    public async Task Garnet_kind_runs_lua_outside_ci_and_is_refused_in_ci()
    {
        var options = new RedisServerOptions { Kind = RedisServerKind.Garnet };
#if NET10_0_OR_GREATER
        bool refused = RedisServer.IsCi;
#else
        bool refused = true; // Microsoft.Garnet targets .NET 10 only: the .NET 8 leg has no Garnet backend.
#endif
        if (refused)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => RedisServer.StartAsync(options));
            return;
        }

        await using var server = await RedisServer.StartAsync(options);
        output.WriteLine(server.ToString());
        await using var admin = await server.ConnectAdminAsync();
        var db = admin.GetDatabase();

        await db.StringSetAsync("k", "v");
        var result = await db.ScriptEvaluateAsync("return redis.call('GET', KEYS[1])", ["k"]);

        Assert.Equal(RedisServerKind.Garnet, server.Kind);
        Assert.Equal("v", result.ToString());
    }

    [Fact]
    public async Task Proxy_pass_forwards_set_and_get()
    {
        await using var proxy = ProxyToSharedServer();
        var key = SharedRedisFixture.NewKeyPrefix() + "k";
        await using var client = await ConnectionMultiplexer.ConnectAsync(fixture.Server.CreateConfiguration(proxy.EndPoint));
        var db = client.GetDatabase();

        await db.StringSetAsync(key, "through-proxy");

        Assert.Equal("through-proxy", (string?)await db.StringGetAsync(key));
        Assert.True(proxy.AcceptedConnections >= 1);
        Assert.True(proxy.OpenConnections >= 1);
        await using var admin = await fixture.ConnectAdminAsync();
        Assert.Equal("through-proxy", (string?)await admin.GetDatabase().StringGetAsync(key));
    }

    [Fact]
    public async Task Proxy_delay_still_forwards()
    {
        await using var proxy = ProxyToSharedServer();
        var key = SharedRedisFixture.NewKeyPrefix() + "k";
        await using var client = await ConnectionMultiplexer.ConnectAsync(fixture.Server.CreateConfiguration(proxy.EndPoint));
        var db = client.GetDatabase();

        proxy.Delay(TimeSpan.FromMilliseconds(50));
        await db.StringSetAsync(key, "slow");

        Assert.Equal(ProxyMode.Delay, proxy.Mode);
        Assert.Equal("slow", (string?)await db.StringGetAsync(key));
    }

    [Fact]
    public async Task Proxy_blackhole_stops_answers()
    {
        await using var proxy = ProxyToSharedServer();
        var key = SharedRedisFixture.NewKeyPrefix() + "k";
        var options = fixture.Server.CreateConfiguration(proxy.EndPoint);
        options.AsyncTimeout = 300;
        options.SyncTimeout = 300;
        await using var client = await ConnectionMultiplexer.ConnectAsync(options);
        var db = client.GetDatabase();
        await db.StringSetAsync(key, "v");

        proxy.Blackhole();
        var get = db.StringGetAsync(key);
        _ = get.ContinueWith(static t => t.Exception, TaskScheduler.Default); // observed if it faults after the test
        await Task.WhenAny(get, Task.Delay(TimeSpan.FromSeconds(3)));

        Assert.False(get.IsCompletedSuccessfully, "GET answered through a blackholed proxy");
    }

    [Fact]
    public async Task Proxy_blackhole_accepts_new_connections_but_never_answers()
    {
        await using var proxy = ProxyToSharedServer();
        proxy.Blackhole();

        var reply = await RawRequestAsync(proxy.Port, "PING\r\n");

        Assert.Null(reply);
        Assert.Equal(1, proxy.AcceptedConnections);

        proxy.Pass();
        Assert.NotNull(await RawRequestAsync(proxy.Port, "PING\r\n"));
    }

    [Fact]
    public async Task Proxy_reset_resets_new_connections()
    {
        await using var proxy = ProxyToSharedServer();
        proxy.Reset();

        var error = await Record.ExceptionAsync(async () => Assert.Null(await RawRequestAsync(proxy.Port, "PING\r\n", expectClose: true)));
        var connect = await Record.ExceptionAsync(() => ConnectOnceAsync(proxy.ConnectionString));

        Assert.True(error is null or SocketException or IOException, $"unexpected {error}");
        Assert.IsType<RedisConnectionException>(connect);
        Assert.True(proxy.ResetConnections >= 1);
        Assert.Equal(0, proxy.OpenConnections);
    }

    [Fact]
    public async Task Proxy_drop_all_cuts_open_connections_and_keeps_listening()
    {
        await using var proxy = ProxyToSharedServer();
        using var open = new TcpClient();
        await open.ConnectAsync(proxy.EndPoint);
        var stream = open.GetStream();
        Assert.NotNull(await RequestAsync(stream, "PING\r\n"));

        proxy.DropAll();

        var afterDrop = await Record.ExceptionAsync(async () => Assert.Null(await RequestAsync(stream, "PING\r\n", expectClose: true)));
        Assert.True(afterDrop is null or SocketException or IOException, $"unexpected {afterDrop}");
        Assert.True(await EventuallyAsync(() => Task.FromResult(proxy.OpenConnections == 0), TimeSpan.FromSeconds(5)));
        Assert.True(proxy.IsListening);
        Assert.NotNull(await RawRequestAsync(proxy.Port, "PING\r\n"));
    }

    [Fact]
    public async Task Proxy_refuse_makes_connecting_fail_until_started_again()
    {
        await using var proxy = ProxyToSharedServer();
        var port = proxy.Port;

        proxy.Refuse();

        Assert.False(proxy.IsListening);
        await Assert.ThrowsAnyAsync<SocketException>(() => RawRequestAsync(port, "PING\r\n"));
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectOnceAsync(proxy.ConnectionString));

        proxy.Start();

        Assert.Equal(port, proxy.Port);
        Assert.NotNull(await RawRequestAsync(port, "PING\r\n"));
    }

    [Fact]
    public async Task Proxy_stop_cuts_open_connections_and_refuses_new_ones()
    {
        await using var proxy = ProxyToSharedServer();
        using var open = new TcpClient();
        await open.ConnectAsync(proxy.EndPoint);
        var stream = open.GetStream();
        Assert.NotNull(await RequestAsync(stream, "PING\r\n"));

        proxy.Stop();

        var afterStop = await Record.ExceptionAsync(async () => Assert.Null(await RequestAsync(stream, "PING\r\n", expectClose: true)));
        Assert.True(afterStop is null or SocketException or IOException, $"unexpected {afterStop}");
        await Assert.ThrowsAnyAsync<SocketException>(() => RawRequestAsync(proxy.Port, "PING\r\n"));
    }

    [Fact]
    public void Proxy_only_forwards_to_loopback()
    {
        Assert.Throws<ArgumentException>(() => new TcpFaultProxy("192.0.2.10", 6379));
        Assert.Throws<ArgumentException>(() => new TcpFaultProxy("redis.example", 6379));
    }

    private TcpFaultProxy ProxyToSharedServer() => new(fixture.Server.Host, fixture.Server.Port);

    /// <summary>One connect attempt that fails fast (no retries, no background reconnect).</summary>
    private static async Task ConnectOnceAsync(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 1;
        options.ConnectTimeout = 1000;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
    }

    /// <summary>Connects to 127.0.0.1:port, sends raw RESP and returns the first reply chunk, or null when nothing
    /// arrives within <see cref="NoAnswerWindow"/> (or the peer closes, with <paramref name="expectClose"/>).
    /// Connect failures throw <see cref="SocketException"/>.</summary>
    private static async Task<string?> RawRequestAsync(int port, string request, bool expectClose = false)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        return await RequestAsync(client.GetStream(), request, expectClose);
    }

    private static async Task<string?> RequestAsync(NetworkStream stream, string request, bool expectClose = false)
    {
        using var cts = new CancellationTokenSource(NoAnswerWindow);
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cts.Token);
            var buffer = new byte[256];
            var read = await stream.ReadAsync(buffer, cts.Token);
            if (read == 0)
            {
                return expectClose ? null : throw new IOException("connection closed without a reply");
            }

            return Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
            {
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }
    }
}
