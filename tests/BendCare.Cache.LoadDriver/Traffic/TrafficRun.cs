using System.Diagnostics;
using System.Net;

namespace BendCare.Cache.LoadDriver.Traffic;

/// <summary>
/// The traffic: <see cref="TrafficOptions.VirtualUsers"/> loops, each picking a user by popularity (Zipf) and sending
/// one of the protected GETs with that user's token (logging in first when its session has ended, and logging the
/// old token out for <see cref="TrafficOptions.LogoutShare"/> of them), and one admin making role and permission
/// edits. Every answer is checked against <see cref="RbacModel"/>: a status other than the expected one, or an
/// exception, is a failure.
/// </summary>
internal sealed class TrafficRun
{
    private static readonly (string Path, string Permission)[] Pages = [("reports", "reports:read"), ("patients", "patients:read"), ("billing", "billing:read")];

    private readonly ServiceApi _api;
    private readonly TrafficOptions _options;
    private readonly RbacModel _model = new();
    private readonly ZipfSampler _popularity;
    private readonly int[] _userByRank;
    private readonly UserSession?[] _sessions = new UserSession?[RbacModel.Users + 1];
    private readonly SemaphoreSlim[] _sessionLocks = [.. Enumerable.Range(0, RbacModel.Users + 1).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _actors = [];
    private string? _adminToken;
    private long _nextSlot;

    public TrafficRun(ServiceApi api, TrafficOptions options)
    {
        options.Validate();
        _api = api;
        _options = options;
        _popularity = new ZipfSampler(options.Users, options.ZipfExponent);
        // Popularity is not tied to the user number (and so to the roles the seed gives it).
        _userByRank = [.. Enumerable.Range(1, options.Users)];
        new Random(options.Seed).Shuffle(_userByRank);
    }

    public Outcomes Outcomes { get; } = new();

    /// <summary>
    /// The admin logs in, and every user logs in and makes one request: the state of a service that has served these
    /// users for a while (with the cache on, each one's entries are cached), so the measured window starts warm.
    /// </summary>
    public async Task PrimeAsync(CancellationToken cancellationToken)
    {
        var (status, token, _) = await _api.LoginAsync("admin", cancellationToken);
        _adminToken = status == HttpStatusCode.OK && token is not null
            ? token
            : throw new InvalidOperationException($"The admin could not log in: {(int)status}.");
        await Parallel.ForEachAsync(
            Enumerable.Range(1, _options.Users),
            new ParallelOptions { MaxDegreeOfParallelism = _options.VirtualUsers, CancellationToken = cancellationToken },
            async (user, _) => await RequestAsync(user, new Random(HashCode.Combine(_options.Seed, user))));
    }

    /// <summary>Starts the virtual users and the admin; they run until <see cref="StopAsync"/>.</summary>
    public void Start()
    {
        if (_adminToken is null)
        {
            throw new InvalidOperationException("Prime the run first.");
        }

        _nextSlot = Stopwatch.GetTimestamp();
        for (int i = 0; i < _options.VirtualUsers; i++)
        {
            var random = new Random(HashCode.Combine(_options.Seed, "virtual user", i));
            _actors.Add(Task.Run(() => VirtualUserAsync(random)));
        }

        _actors.Add(Task.Run(() => AdminAsync(new Random(HashCode.Combine(_options.Seed, "admin")))));
    }

    /// <summary>Lets every request in flight finish, then returns; nothing is cancelled mid-request.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_actors);
    }

    private async Task VirtualUserAsync(Random random)
    {
        while (!_stop.IsCancellationRequested)
        {
            await PaceAsync();
            await RequestAsync(_userByRank[_popularity.Next(random)], random);
        }
    }

    /// <summary>With a pace set, waits for this request's slot: slots are handed out one interval apart.</summary>
    private async Task PaceAsync()
    {
        if (_options.RequestsPerSecond <= 0)
        {
            return;
        }

        long interval = (long)(Stopwatch.Frequency / _options.RequestsPerSecond);
        long slot = Interlocked.Add(ref _nextSlot, interval) - interval;
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), slot);
        if (wait > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(wait, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                // Stopping: the loop ends.
            }
        }
    }

    private async Task RequestAsync(int user, Random random)
    {
        var session = await SessionAsync(user, random);
        if (session is null)
        {
            return;
        }

        var (path, permission) = PickPage(user, random);
        long generation = _model.Generation;
        bool allowed = _model.Allows(user, permission);
        HttpStatusCode status;
        try
        {
            status = await _api.GetAsync(path, session.Token, CancellationToken.None);
        }
        catch (Exception e)
        {
            Outcomes.Failure($"GET /{path} as u{user}: {e.GetType().Name}: {e.Message}");
            return;
        }

        bool duringEdit = (generation & 1) != 0 || _model.Generation != generation;
        if (status == (allowed ? HttpStatusCode.OK : HttpStatusCode.Forbidden))
        {
            Outcomes.Resource(forbidden: !allowed);
        }
        else if (duringEdit && status is HttpStatusCode.OK or HttpStatusCode.Forbidden)
        {
            Outcomes.DuringEdit();
            Outcomes.Resource(forbidden: status == HttpStatusCode.Forbidden);
        }
        else if (status == HttpStatusCode.Unauthorized && session.LoggedOut)
        {
            Outcomes.AfterOwnLogout();
        }
        else
        {
            Outcomes.Failure($"GET /{path} as u{user}: {(int)status}, expected {(allowed ? 200 : 403)}");
        }
    }

    private (string Path, string Permission) PickPage(int user, Random random)
    {
        if (random.NextDouble() >= _options.OffPermissionShare)
        {
            var permitted = Pages.Where(p => _model.Allows(user, p.Permission)).ToArray();
            if (permitted.Length > 0)
            {
                return permitted[random.Next(permitted.Length)];
            }
        }

        return Pages[random.Next(Pages.Length)];
    }

    /// <summary>The user's live session, renewed (log in, then log the old token out for some) when it has ended.</summary>
    private async Task<UserSession?> SessionAsync(int user, Random random)
    {
        var session = Volatile.Read(ref _sessions[user]);
        if (session is not null && DateTimeOffset.UtcNow < session.RenewAt)
        {
            return session;
        }

        await _sessionLocks[user].WaitAsync();
        try
        {
            session = _sessions[user];
            if (session is not null && DateTimeOffset.UtcNow < session.RenewAt)
            {
                return session;
            }

            var renewed = await LoginAsync(user, random);
            if (renewed is null)
            {
                return null;
            }

            Volatile.Write(ref _sessions[user], renewed);
            if (session is not null && random.NextDouble() < _options.LogoutShare)
            {
                // Marked first: another virtual user's request with the old token may now get a 401, as a second tab would.
                session.MarkLoggedOut();
                await LogoutAsync(user, session);
            }

            return renewed;
        }
        finally
        {
            _sessionLocks[user].Release();
        }
    }

    private async Task<UserSession?> LoginAsync(int user, Random random)
    {
        try
        {
            var (status, token, expiresAt) = await _api.LoginAsync(RbacModel.UserId(user), CancellationToken.None);
            if (status != HttpStatusCode.OK || token is null)
            {
                Outcomes.Failure($"POST /login as u{user}: {(int)status}, expected 200");
                return null;
            }

            Outcomes.Login();
            var now = DateTimeOffset.UtcNow;
            var length = TimeSpan.FromTicks((long)(-_options.MeanSession.Ticks * Math.Log(1 - random.NextDouble())));
            var latest = expiresAt - TimeSpan.FromMinutes(5);
            return new UserSession(token, now + length < latest ? now + length : latest);
        }
        catch (Exception e)
        {
            Outcomes.Failure($"POST /login as u{user}: {e.GetType().Name}: {e.Message}");
            return null;
        }
    }

    private async Task LogoutAsync(int user, UserSession session)
    {
        try
        {
            var status = await _api.LogoutAsync(session.Token, CancellationToken.None);
            if (status == HttpStatusCode.NoContent)
            {
                Outcomes.Logout();
            }
            else
            {
                Outcomes.Failure($"POST /logout as u{user}: {(int)status}, expected 204");
            }
        }
        catch (Exception e)
        {
            Outcomes.Failure($"POST /logout as u{user}: {e.GetType().Name}: {e.Message}");
        }
    }

    private async Task AdminAsync(Random random)
    {
        var never = DateTimeOffset.MaxValue;
        var now = DateTimeOffset.UtcNow;
        var nextUserEdit = _options.UserEditEvery > TimeSpan.Zero ? now + _options.UserEditEvery : never;
        var nextRoleEdit = _options.RoleEditEvery > TimeSpan.Zero ? now + _options.RoleEditEvery : never;
        while (!_stop.IsCancellationRequested)
        {
            var next = nextUserEdit < nextRoleEdit ? nextUserEdit : nextRoleEdit;
            var wait = next == never ? Timeout.InfiniteTimeSpan : next - DateTimeOffset.UtcNow;
            try
            {
                if (wait == Timeout.InfiniteTimeSpan || wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (DateTimeOffset.UtcNow >= nextUserEdit)
            {
                await EditUserRolesAsync(random);
                nextUserEdit += _options.UserEditEvery;
            }

            if (DateTimeOffset.UtcNow >= nextRoleEdit)
            {
                await EditRolePermissionsAsync(random);
                nextRoleEdit += _options.RoleEditEvery;
            }
        }
    }

    /// <summary>A seeded user gets one role more (or, holding three, one fewer); an edited one gets its seeded roles back.</summary>
    private Task EditUserRolesAsync(Random random)
    {
        int user = random.Next(1, _options.Users + 1);
        int[] seeded = RbacModel.SeededRoles(user);
        int[] roles = _model.RolesOf(user);
        int[] next = !roles.SequenceEqual(seeded) ? seeded
            : seeded.Length == 3 ? seeded[..2]
            : [.. seeded, Enumerable.Range(1, RbacModel.Roles).Except(seeded).ElementAt(random.Next(RbacModel.Roles - seeded.Length))];
        return EditAsync(
            $"users/{RbacModel.UserId(user)}/roles",
            next.Select(RbacModel.RoleId),
            () => _model.SetRoles(user, next),
            Outcomes.UserEdit);
    }

    /// <summary>A seeded role gains or loses one permission; an edited one gets its seeded permissions back.</summary>
    private Task EditRolePermissionsAsync(Random random)
    {
        int role = random.Next(1, RbacModel.Roles + 1);
        string[] seeded = RbacModel.SeededPermissions(role);
        string[] permissions = _model.PermissionsOf(role);
        string toggled = RbacModel.GrantablePermissions[random.Next(RbacModel.GrantablePermissions.Length)];
        string[] next = !permissions.SequenceEqual(seeded) ? seeded
            : seeded.Contains(toggled) ? [.. seeded.Where(p => p != toggled)]
            : [.. seeded, toggled];
        return EditAsync(
            $"roles/{RbacModel.RoleId(role)}/permissions",
            next,
            () => _model.SetPermissions(role, next),
            Outcomes.RoleEdit);
    }

    private async Task EditAsync(string path, IEnumerable<string> items, Action apply, Action counted)
    {
        await _model.EditAsync(
            async () =>
            {
                try
                {
                    var status = await _api.PutAsync(path, _adminToken!, items, CancellationToken.None);
                    if (status == HttpStatusCode.NoContent)
                    {
                        counted();
                        return true;
                    }

                    Outcomes.Failure($"PUT /{path} as admin: {(int)status}, expected 204");
                }
                catch (Exception e)
                {
                    Outcomes.Failure($"PUT /{path} as admin: {e.GetType().Name}: {e.Message}");
                }

                return false;
            },
            apply);
    }
}

/// <summary>One user's token and when its session ends; marked before the driver logs it out.</summary>
internal sealed class UserSession(string token, DateTimeOffset renewAt)
{
    private int _loggedOut;

    public string Token { get; } = token;

    public DateTimeOffset RenewAt { get; } = renewAt;

    public bool LoggedOut => Volatile.Read(ref _loggedOut) != 0;

    public void MarkLoggedOut() => Volatile.Write(ref _loggedOut, 1);
}
