using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using BendCare.Cache.Diagnostics;
using BendCare.Cache.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Xunit;
using Xunit.Abstractions;

namespace BendCare.Cache.IntegrationTests.Observability;

/// <summary>
/// What a container ships to CloudWatch: the lines of the JSON console formatter (<c>AddJsonConsole()</c>), produced
/// here by the formatter itself. Dashboards group the hit/miss lines by their message, so the message must not carry
/// the id; the id is a field of the line's state, and the queries in docs/operations.md and docs/observability.md name
/// the fields as emitted.
/// </summary>
[Collection(SharedRedisFixture.CollectionName)]
public sealed partial class JsonLogTests(SharedRedisFixture redis, ITestOutputHelper output)
{
    private const int IdsPerType = 3;

    /// <summary>Holds the formatter's options for the run; only formatters are resolved from it, never a console logger.</summary>
    private static readonly ServiceProvider FormatterServices = new ServiceCollection().AddLogging(b => b.AddJsonConsole()).BuildServiceProvider();

    private static readonly Dictionary<string, (string Hit, string Miss, string Field)> Seed = new(StringComparer.Ordinal)
    {
        ["user_context"] = ("User context cache hit in Redis", "User context cache miss in Redis", "userId"),
        ["role_perms"] = ("Role permissions cache hit in Redis", "Role permissions cache miss in Redis", "roleId"),
        ["user_basic"] = ("User basic info cache hit in Redis", "User basic info cache miss in Redis", "userId"),
        ["token_bl"] = ("Token blacklist cache hit in Redis", "Token blacklist cache miss in Redis", "tokenId"),
        ["jwt_payload"] = ("JWT payload cache hit in Redis", "JWT payload cache miss in Redis", "tokenId"),
    };

    [Fact]
    public async Task Grouping_the_json_lines_by_Message_gives_one_row_per_cache_type_and_result_with_the_id_in_State()
    {
        var (lines, ids) = await RunEveryTypeAsync();
        var results = lines.Select(l => JsonDocument.Parse(l)).Select(d => d.RootElement).Where(IsHitOrMiss).ToList();

        // stats count(*) by Message
        var rows = results.GroupBy(e => e.GetProperty("Message").GetString()!).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        output.WriteLine("stats count(*) by Message, over the JSON lines of 3 ids per cache type (a miss, then a hit):");
        foreach (var row in rows)
        {
            output.WriteLine($"{row.Count(),6}  {row.Key}");
        }

        output.WriteLine("");
        output.WriteLine("One emitted line:");
        output.WriteLine(lines.First(l => l.Contains("\"EventId\":1001", StringComparison.Ordinal)));

        Assert.Equal(Seed.Values.SelectMany(s => new[] { s.Hit, s.Miss }).Order(StringComparer.Ordinal), rows.Select(r => r.Key));
        Assert.All(rows, row => Assert.Equal(IdsPerType, row.Count()));
        foreach (var (type, seed) in Seed)
        {
            var ofType = results.Where(e => e.GetProperty("Message").GetString() is { } m && (m == seed.Hit || m == seed.Miss)).ToList();
            // Distinct: two random token ids may shorten to the same text.
            var expected = ids[type].Select(id => type is "token_bl" or "jwt_payload" ? Redact.Id(id) : id).Distinct().Order(StringComparer.Ordinal);
            Assert.Equal(expected, ofType.Select(e => e.GetProperty("State").GetProperty(seed.Field).GetString()!).Distinct().Order(StringComparer.Ordinal));
        }

        // The full token id is nowhere in what is shipped.
        Assert.All(ids["token_bl"].Concat(ids["jwt_payload"]), id => Assert.DoesNotContain(lines, l => l.Contains(id, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_CloudWatch_queries_of_the_docs_name_fields_and_messages_the_json_lines_have()
    {
        var (lines, _) = await RunEveryTypeAsync();
        var emitted = lines.Select(l => JsonDocument.Parse(l)).Select(d => d.RootElement).ToList();
        var queries = new[] { "operations.md", "observability.md" }
            .SelectMany(page => Queries(File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", page))))
            .ToList();

        Assert.True(queries.Count >= 9, $"Expected the queries of both pages, found {queries.Count}.");
        foreach (string query in queries)
        {
            foreach (Match field in FieldReference().Matches(query))
            {
                string[] path = field.Value.Split('.');
                Assert.True(emitted.Any(e => Has(e, path)), $"The query names {field.Value}, which no emitted line has:\n{query}");
            }

            foreach (Match quoted in QuotedMessage().Matches(query))
            {
                string message = quoted.Groups["text"].Value;
                Assert.True(emitted.Any(e => e.GetProperty("Message").GetString() == message), $"The query matches \"{message}\", which no line has as its Message:\n{query}");
            }
        }
    }

    /// <summary>For each cache type, <see cref="IdsPerType"/> ids: a miss on a fresh id, then a set and a hit on another.</summary>
    private async Task<(IReadOnlyList<string> Lines, Dictionary<string, List<string>> Ids)> RunEveryTypeAsync()
    {
        var lines = new JsonLines(JsonFormatter());
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(lines));
        services.AddBendCareRedisCache(o =>
        {
            o.Host = redis.Server.Host;
            o.Port = redis.Server.Port;
            o.KeyPrefix = SharedRedisFixture.NewKeyPrefix();
            o.OperationTimeout = TimeSpan.FromSeconds(5);
        });
        await using var provider = services.BuildServiceProvider();
        var cache = provider.GetRequiredService<IRbacCache>();

        var ids = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var type in CacheType.All)
        {
            var used = ids[type.Name] = [];
            for (int i = 0; i < IdsPerType; i++)
            {
                string prefix = type.Name is "token_bl" or "jwt_payload" ? "jti-" : "id-";
                string missed = prefix + Guid.NewGuid().ToString("N");
                string hit = prefix + Guid.NewGuid().ToString("N");
                await type.GetAsync(cache, missed, _ => ValueTask.FromResult<object?>(type.Make(missed)));
                await type.SetAsync(cache, hit);
                await type.GetAsync(cache, hit, _ => throw new InvalidOperationException("a hit was expected"));
                used.AddRange([missed, hit]);
            }
        }

        return (lines.Lines, ids);
    }

    private static bool IsHitOrMiss(JsonElement line) =>
        line.GetProperty("Category").GetString() == BendCareCacheDiagnostics.LogCategory
        && line.GetProperty("EventId").GetInt32() is >= Log.UserContextHitId and <= Log.JwtPayloadMissId;

    private static bool Has(JsonElement element, string[] path)
    {
        foreach (string name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The fenced blocks of a page that are Logs Insights queries (they pipe into commands).</summary>
    private static List<string> Queries(string markdown) =>
        [.. FencedBlock().Matches(markdown).Select(m => m.Groups["body"].Value).Where(b => b.Contains("| ", StringComparison.Ordinal))];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "BendCare.Cache.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("BendCare.Cache.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The JSON console formatter exactly as <c>AddJsonConsole()</c> registers it (no console is written to).</summary>
    private static ConsoleFormatter JsonFormatter() =>
        FormatterServices.GetServices<ConsoleFormatter>().Single(f => f.Name == ConsoleFormatterNames.Json);

    [GeneratedRegex(@"```[a-z]*\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex FencedBlock();

    /// <summary>A field of the JSON lines as a query names it: a top-level one or one under State.</summary>
    [GeneratedRegex(@"\b(?:State\.[A-Za-z]+|Message|EventId|LogLevel|Category)\b")]
    private static partial Regex FieldReference();

    [GeneratedRegex(@"""(?<text>[^""]+ in Redis)""")]
    private static partial Regex QuotedMessage();

    /// <summary>Each log entry as the console logger would write it with the JSON formatter: one line of JSON.</summary>
    private sealed class JsonLines(ConsoleFormatter formatter) : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(JsonLines owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => NullLogger.Instance.BeginScope(state);

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                using var writer = new StringWriter();
                owner.FormatterWrite(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), writer);
                owner._lines.Enqueue(writer.ToString().TrimEnd());
            }
        }

        private void FormatterWrite<TState>(in LogEntry<TState> entry, TextWriter writer) => formatter.Write(entry, null, writer);
    }
}
