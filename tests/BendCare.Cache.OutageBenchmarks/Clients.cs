using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.OutageBenchmarks;

/// <summary>Where a client connects and how.</summary>
internal sealed record Endpoint(string Host, int Port, string? Password, bool Tls);

/// <summary>A cache-aside client under test: one read of a user context, falling back to the loader.</summary>
internal interface ICacheClient : IAsyncDisposable
{
    /// <summary>How long creating the client blocked the caller (application start-up).</summary>
    TimeSpan Startup { get; }

    /// <summary>State-change log lines (BendCare only; Information and above).</summary>
    IReadOnlyList<LogRecord> Logs { get; }

    ValueTask<UserContext?> GetAsync(string id, Func<CancellationToken, ValueTask<UserContext?>> loader);
}

internal sealed record LogRecord(long Timestamp, string Category, LogLevel Level, int EventId, string Message)
{
    public bool IsLibrary => Category == "BendCare.Cache";
}

/// <summary>BendCare.Cache registered exactly as a service would, with default options (only the endpoint set).</summary>
internal sealed class BendCareClient : ICacheClient
{
    private readonly ServiceProvider _provider;
    private readonly IRbacCache _cache;
    private readonly CapturingLoggerProvider _logs;

    private BendCareClient(ServiceProvider provider, IRbacCache cache, CapturingLoggerProvider logs, TimeSpan startup)
    {
        _provider = provider;
        _cache = cache;
        _logs = logs;
        Startup = startup;
    }

    public TimeSpan Startup { get; }

    public IReadOnlyList<LogRecord> Logs => _logs.Records;

    public static BendCareClient Create(Endpoint endpoint, string keyPrefix, Action<ConfigurationOptions>? configure = null, bool diagnose = false)
    {
        var logs = new CapturingLoggerProvider();
        if (diagnose)
        {
            // StackExchange.Redis' own log lines (connect, resurrect, failures) into the same timeline; logging only.
            var redisLogs = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
            var inner = configure;
            configure = c =>
            {
                c.LoggerFactory = redisLogs;
                inner?.Invoke(c);
            };
        }

        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(logs));
        services.AddBendCareRedisCache(o =>
        {
            o.Host = endpoint.Host;
            o.Port = endpoint.Port;
            o.Username = null;
            o.Password = endpoint.Password;
            o.UseTls = endpoint.Tls;
            o.KeyPrefix = keyPrefix;
            o.ConfigureConnection = configure;
        });
        long started = Stopwatch.GetTimestamp();
        var provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredService<IRbacCache>();
        return new BendCareClient(provider, cache, logs, Stopwatch.GetElapsedTime(started));
    }

    public ValueTask<UserContext?> GetAsync(string id, Func<CancellationToken, ValueTask<UserContext?>> loader) =>
        _cache.GetUserContextAsync(id, loader);

    public ValueTask InvalidateAsync(string id) => _cache.InvalidateUserContextAsync(id);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _provider.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine("[harness] BendCare client did not dispose within 10 s");
        }
    }
}

/// <summary>
/// The comparison: a hand-written cache-aside on StackExchange.Redis with the client's defaults (5 s connect/async
/// timeouts, default backlog policy), only abortConnect=false so the app can start. GET; on a miss or any exception
/// call the loader; then SET fire-and-forget (an awaited SET would add a second wait of the same size under a fault).
/// </summary>
internal sealed class PlainClient : ICacheClient
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);
    private readonly ConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;
    private readonly string _keyPrefix;
    private readonly ConcurrentDictionary<string, int> _errors = new(StringComparer.Ordinal);

    private PlainClient(ConnectionMultiplexer multiplexer, string keyPrefix, TimeSpan startup)
    {
        _multiplexer = multiplexer;
        _database = multiplexer.GetDatabase();
        _keyPrefix = keyPrefix;
        Startup = startup;
    }

    public TimeSpan Startup { get; }

    public IReadOnlyList<LogRecord> Logs => [];

    /// <summary>GET exceptions swallowed so far, by type.</summary>
    public IReadOnlyDictionary<string, int> Errors => _errors;

    public static PlainClient Create(Endpoint endpoint, string keyPrefix)
    {
        var configuration = $"{endpoint.Host}:{endpoint.Port},abortConnect=false"
            + (endpoint.Password is null ? "" : $",password={endpoint.Password}")
            + (endpoint.Tls ? ",ssl=true" : "");
        long started = Stopwatch.GetTimestamp();
        var multiplexer = ConnectionMultiplexer.Connect(configuration);
        return new PlainClient(multiplexer, keyPrefix, Stopwatch.GetElapsedTime(started));
    }

    public async ValueTask<UserContext?> GetAsync(string id, Func<CancellationToken, ValueTask<UserContext?>> loader)
    {
        RedisKey key = _keyPrefix + "user_context:" + id;
        try
        {
            var cached = await _database.StringGetAsync(key);
            if (!cached.IsNull)
            {
                return JsonSerializer.Deserialize((byte[])cached!, HarnessJson.Default.UserContext);
            }
        }
        catch (Exception ex)
        {
            _errors.AddOrUpdate(ex.GetType().Name, 1, static (_, n) => n + 1);
        }

        var value = await loader(CancellationToken.None);
        if (value is not null)
        {
            try
            {
                _ = _database.StringSetAsync(key, JsonSerializer.SerializeToUtf8Bytes(value, HarnessJson.Default.UserContext), Ttl, flags: CommandFlags.FireAndForget);
            }
            catch (Exception ex)
            {
                _errors.AddOrUpdate("SET " + ex.GetType().Name, 1, static (_, n) => n + 1);
            }
        }

        return value;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _multiplexer.CloseAsync(allowCommandsToComplete: false).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is TimeoutException or RedisException)
        {
            Console.Error.WriteLine($"[harness] plain client close: {ex.GetType().Name}");
        }

        _multiplexer.Dispose();
    }
}

[JsonSerializable(typeof(UserContext))]
internal sealed partial class HarnessJson : JsonSerializerContext;

/// <summary>Keeps Information-and-above log lines with a <see cref="Stopwatch"/> timestamp.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogRecord> _records = new();

    public IReadOnlyList<LogRecord> Records => [.. _records];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= (category == "BendCare.Cache" ? LogLevel.Information : LogLevel.Debug);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner._records.Enqueue(new LogRecord(Stopwatch.GetTimestamp(), category, logLevel, eventId.Id, formatter(state, exception) + (exception is null ? "" : $" [{exception.GetType().Name}: {exception.Message.Split('\n')[0]}]")));
            }
        }
    }
}
