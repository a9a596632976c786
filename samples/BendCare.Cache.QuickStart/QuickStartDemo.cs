using System.Diagnostics;
using BendCare.Cache.Samples;

namespace BendCare.Cache.QuickStart;

/// <summary>
/// Walks through what the cache does for one user and one token, printing each call: whether the database
/// (the loader) was asked, and how long the call took. Any surprise throws <see cref="DemoFailedException"/>.
/// </summary>
internal sealed class QuickStartDemo(IRbacCache cache, FakeDatabase database, EmbeddedGarnet? embeddedServer)
{
    // After a miss the cache writes the value back in the background; a read right after may still miss. The first
    // write-back also waits for the background connect (~0.4 s here), hence room for 40 polls.
    private const int WriteBackPolls = 40;
    private static readonly TimeSpan WriteBackPollDelay = TimeSpan.FromMilliseconds(25);

    // Fresh ids on every run, so a shared server's leftovers from an earlier run cannot turn a miss into a hit.
    private readonly string _run = Guid.NewGuid().ToString("N")[..6];

    private string UserId => $"user-{_run}";

    private string RoleId => $"role-editor-{_run}";

    private string TokenId => $"token-{_run}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Console.WriteLine($"ids this run: {UserId} (holds {RoleId}), {TokenId}");

        Step("1. First read: nothing cached yet, so the database is asked");
        await ReadUserAsync("GetUserContextAsync", Expect.Miss, cancellationToken);

        Step("2. Second read: answered by the cache");
        await WaitForWriteBackAsync(cancellationToken);
        await ReadUserAsync("GetUserContextAsync", Expect.Hit, cancellationToken);

        Step("3. The user is edited: invalidate the user's context");
        await TimeAsync("InvalidateUserContextAsync", () => cache.InvalidateUserContextAsync(UserId, cancellationToken));
        await ReadUserAsync("GetUserContextAsync", Expect.Miss, cancellationToken);

        Step($"4. A role is edited: every cached user context holding {RoleId} goes too");
        await WaitForWriteBackAsync(cancellationToken);
        await ReadUserAsync("GetUserContextAsync", Expect.Hit, cancellationToken);
        await TimeAsync("InvalidateRolePermissionsAsync", () => cache.InvalidateRolePermissionsAsync(RoleId, cancellationToken));
        await ReadUserAsync("GetUserContextAsync", Expect.Miss, cancellationToken);

        Step("5. A token is revoked: the cache answers 'blacklisted' from then on");
        await CheckTokenAsync(expected: false, Expect.Miss, cancellationToken);
        database.RevokeToken(TokenId); // the database first: the cache is never the only record
        await TimeAsync("BlacklistTokenAsync", () => cache.BlacklistTokenAsync(TokenId, DateTimeOffset.UtcNow.AddHours(1), cancellationToken));
        await CheckTokenAsync(expected: true, Expect.Hit, cancellationToken);

        Step("6. The server goes down: reads fall back to the database, nothing throws");
        if (embeddedServer is null)
        {
            Console.WriteLine("   skipped: the server is external (REDIS_HOST), and this sample does not stop it");
            return;
        }

        await WaitForWriteBackAsync(cancellationToken); // so the server dies holding the user's context
        embeddedServer.Dispose();
        Console.WriteLine("   embedded Garnet stopped");
        for (var i = 0; i < 3; i++)
        {
            await ReadUserAsync("GetUserContextAsync", Expect.Miss, cancellationToken);
        }

        await CheckTokenAsync(expected: true, Expect.Miss, cancellationToken);
    }

    private static void Step(string title)
    {
        Console.WriteLine();
        Console.WriteLine(title);
    }

    private ValueTask<UserContext?> LoadUserAsync(CancellationToken cancellationToken) =>
        database.LoadUserContextAsync(UserId, RoleId, cancellationToken);

    private async Task ReadUserAsync(string call, Expect expect, CancellationToken cancellationToken)
    {
        var (context, loaderCalls) = await MeasureAsync(
            call, () => cache.GetUserContextAsync(UserId, LoadUserAsync, cancellationToken), c => c is null ? " = null" : "");
        Check(expect, loaderCalls, call);
        if (context is null || context.UserId != UserId || !context.RoleIds.SequenceEqual([RoleId]))
        {
            throw new DemoFailedException($"{call} returned {Describe(context)}, not {UserId}'s context from the database");
        }
    }

    private async Task CheckTokenAsync(bool expected, Expect expect, CancellationToken cancellationToken)
    {
        const string Call = "IsTokenBlacklistedAsync";
        var (blacklisted, loaderCalls) = await MeasureAsync(
            Call, () => cache.IsTokenBlacklistedAsync(TokenId, ct => database.IsTokenRevokedAsync(TokenId, ct), cancellationToken), b => b ? " = true" : " = false");
        Check(expect, loaderCalls, Call);
        if (blacklisted != expected)
        {
            throw new DemoFailedException($"{Call} returned {blacklisted}, expected {expected}");
        }
    }

    /// <summary>Reads again every 25 ms until a read no longer reaches the database, i.e. the write-back landed.</summary>
    private async Task WaitForWriteBackAsync(CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        for (var poll = 1; poll <= WriteBackPolls; poll++)
        {
            await Task.Delay(WriteBackPollDelay, cancellationToken);
            var before = database.Calls;
            await cache.GetUserContextAsync(UserId, LoadUserAsync, cancellationToken);
            if (database.Calls == before)
            {
                Console.WriteLine($"   (background write-back seen after {poll} poll(s), {Stopwatch.GetElapsedTime(start).TotalMilliseconds:0} ms)");
                return;
            }
        }

        throw new DemoFailedException(
            $"{UserId}'s context never reached the cache: {WriteBackPolls} reads {WriteBackPollDelay.TotalMilliseconds:0} ms apart all called the loader");
    }

    private async Task<(T Value, int LoaderCalls)> MeasureAsync<T>(string call, Func<ValueTask<T>> action, Func<T, string> show)
    {
        var before = database.Calls;
        var start = Stopwatch.GetTimestamp();
        var value = await action();
        var elapsed = Stopwatch.GetElapsedTime(start);
        var loaderCalls = database.Calls - before;
        var outcome = loaderCalls == 0 ? "hit:  loader not called" : "miss: loader called";
        Console.WriteLine($"   {call + show(value),-34} {outcome,-23}  db calls so far: {database.Calls,2}  {elapsed.TotalMilliseconds,7:0.0} ms");
        return (value, loaderCalls);
    }

    private static async Task TimeAsync(string call, Func<ValueTask> action)
    {
        var start = Stopwatch.GetTimestamp();
        await action();
        Console.WriteLine($"   {call,-34} {"done",-23}  {"",18}  {Stopwatch.GetElapsedTime(start).TotalMilliseconds,7:0.0} ms");
    }

    private static void Check(Expect expect, int loaderCalls, string call)
    {
        if (expect == Expect.Hit && loaderCalls != 0)
        {
            throw new DemoFailedException($"{call} called the loader: expected a cache hit");
        }

        if (expect == Expect.Miss && loaderCalls != 1)
        {
            throw new DemoFailedException($"{call} called the loader {loaderCalls} times: expected exactly once (a miss)");
        }
    }

    private static string Describe(UserContext? context) => context is null ? "null" : $"the context of {context.UserId}";

    private enum Expect
    {
        Hit,
        Miss,
    }
}

/// <summary>The demo saw something other than what it promised; the message is the one-line reason.</summary>
public sealed class DemoFailedException : Exception
{
    public DemoFailedException()
    {
    }

    public DemoFailedException(string message)
        : base(message)
    {
    }

    public DemoFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
