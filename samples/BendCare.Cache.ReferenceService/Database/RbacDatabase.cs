using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace BendCare.Cache.ReferenceService.Database;

/// <summary>
/// The source of truth, and the only class that talks to it: every call is one named query, logged as
/// <c>Query: &lt;name&gt;</c> and counted by <see cref="QueryLog"/> (an edit is one query: one transaction).
/// </summary>
internal sealed class RbacDatabase : IDisposable
{
    private readonly string _connectionString;
    private readonly QueryLog _queries;
    private readonly string? _ownedDirectory;

    /// <param name="path">The SQLite file; <see langword="null"/> or empty: a new file in a new temp folder, deleted on dispose.</param>
    /// <param name="queries">Counts and logs every query.</param>
    public RbacDatabase(string? path, QueryLog queries)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            _ownedDirectory = Directory.CreateTempSubdirectory("bendcare-reference-").FullName;
            path = System.IO.Path.Combine(_ownedDirectory, "rbac.db");
        }

        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        _queries = queries;
    }

    public string Path { get; }

    /// <summary>Creates and seeds the database when that has not been done yet (see <see cref="Schema"/>).</summary>
    public bool EnsureCreatedAndSeeded()
    {
        using var connection = Open("seed");
        return Schema.EnsureCreatedAndSeeded(connection);
    }

    public async ValueTask<UserContext?> LoadUserContextAsync(string userId, CancellationToken cancellationToken)
    {
        var lists = await QueryListsAsync("user_context", """
            SELECT is_active FROM users WHERE id = $id;
            SELECT role_id FROM user_roles WHERE user_id = $id ORDER BY role_id;
            SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
                WHERE ur.user_id = $id ORDER BY rp.permission;
            SELECT organization_id FROM user_organizations WHERE user_id = $id ORDER BY organization_id;
            """, userId, cancellationToken);
        return lists is [var roles, var permissions, var organizations]
            ? new UserContext { UserId = userId, RoleIds = roles, Permissions = permissions, OrganizationIds = organizations }
            : null;
    }

    public async ValueTask<RolePermissions?> LoadRolePermissionsAsync(string roleId, CancellationToken cancellationToken)
    {
        var lists = await QueryListsAsync("role_permissions", """
            SELECT COUNT(*) FROM roles WHERE id = $id;
            SELECT permission FROM role_permissions WHERE role_id = $id ORDER BY permission;
            """, roleId, cancellationToken);
        return lists is [var permissions] ? new RolePermissions { RoleId = roleId, Permissions = permissions } : null;
    }

    public ValueTask<UserBasicInfo?> LoadUserBasicAsync(string userId, CancellationToken cancellationToken) =>
        QueryRowAsync("user_basic", "SELECT email, display_name, is_active FROM users WHERE id = $id;", userId, row => new UserBasicInfo
        {
            UserId = userId,
            Email = row.GetString(0),
            DisplayName = row.IsDBNull(1) ? null : row.GetString(1),
            IsActive = row.GetInt64(2) != 0,
        }, cancellationToken);

    public async ValueTask<bool> IsTokenRevokedAsync(string tokenId, CancellationToken cancellationToken)
    {
        await using var connection = Open("token_revoked");
        await using var command = Command(connection, "SELECT COUNT(*) FROM revoked_tokens WHERE jti = $jti;", ("$jti", tokenId));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>The record this service keeps of a token it issued, as a <see cref="JwtPayload"/>; <see langword="null"/> for a token it never issued.</summary>
    public ValueTask<JwtPayload?> LoadTokenPayloadAsync(string tokenId, CancellationToken cancellationToken) =>
        QueryRowAsync("jwt_payload", "SELECT user_id, issued_at, expires_at FROM issued_tokens WHERE jti = $id;", tokenId, row => new JwtPayload
        {
            TokenId = tokenId,
            Subject = row.GetString(0),
            ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(row.GetInt64(2)),
            Claims = new Dictionary<string, string> { ["iat"] = row.GetInt64(1).ToString(CultureInfo.InvariantCulture) },
        }, cancellationToken);

    public async Task RecordIssuedTokenAsync(string tokenId, string userId, DateTimeOffset issuedAt, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using var connection = Open("issue_token");
        await using var command = Command(
            connection,
            "INSERT INTO issued_tokens(jti, user_id, issued_at, expires_at) VALUES ($jti, $user, $iat, $exp);",
            ("$jti", tokenId), ("$user", userId), ("$iat", issuedAt.ToUnixTimeSeconds()), ("$exp", expiresAt.ToUnixTimeSeconds()));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records a revocation and commits it; only then may the caller tell the cache.</summary>
    public async Task RevokeTokenAsync(string tokenId, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using var connection = Open("revoke_token");
        await using var transaction = BeginWrite(connection);
        await using var command = Command(
            connection,
            "INSERT OR IGNORE INTO revoked_tokens(jti, revoked_at, expires_at) VALUES ($jti, unixepoch(), $exp);",
            ("$jti", tokenId), ("$exp", expiresAt.ToUnixTimeSeconds()));
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Replaces a role's permissions and commits; only then may the caller tell the cache.</summary>
    public Task<EditResult> SetRolePermissionsAsync(string roleId, IReadOnlyCollection<string> permissions, CancellationToken cancellationToken) =>
        ReplaceAsync(
            "set_role_permissions",
            roleId,
            permissions,
            exists: "SELECT COUNT(*) FROM roles WHERE id = $id;",
            unknown: "SELECT value FROM json_each($list) WHERE value NOT IN (SELECT name FROM permissions) ORDER BY value;",
            replace: """
                DELETE FROM role_permissions WHERE role_id = $id;
                INSERT INTO role_permissions(role_id, permission) SELECT DISTINCT $id, value FROM json_each($list);
                """,
            cancellationToken);

    /// <summary>Replaces a user's roles and commits; only then may the caller tell the cache.</summary>
    public Task<EditResult> SetUserRolesAsync(string userId, IReadOnlyCollection<string> roleIds, CancellationToken cancellationToken) =>
        ReplaceAsync(
            "set_user_roles",
            userId,
            roleIds,
            exists: "SELECT COUNT(*) FROM users WHERE id = $id;",
            unknown: "SELECT value FROM json_each($list) WHERE value NOT IN (SELECT id FROM roles) ORDER BY value;",
            replace: """
                DELETE FROM user_roles WHERE user_id = $id;
                INSERT INTO user_roles(user_id, role_id) SELECT DISTINCT $id, value FROM json_each($list);
                """,
            cancellationToken);

    /// <summary>Deletes the temp folder of a database this instance created for itself.</summary>
    public void Dispose()
    {
        if (_ownedDirectory is null)
        {
            return;
        }

        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_ownedDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temp folder left behind is harmless.
        }
    }

    private async Task<EditResult> ReplaceAsync(
        string queryName, string id, IReadOnlyCollection<string> items, string exists, string unknown, string replace, CancellationToken cancellationToken)
    {
        string list = JsonSerializer.Serialize(items);
        await using var connection = Open(queryName);
        await using var transaction = BeginWrite(connection);

        await using (var command = Command(connection, exists, ("$id", id)))
        {
            command.Transaction = transaction;
            if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
            {
                return EditResult.NotFound;
            }
        }

        await using (var command = Command(connection, unknown, ("$list", list)))
        {
            command.Transaction = transaction;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var missing = await ReadStringsAsync(reader, cancellationToken);
            if (missing.Count > 0)
            {
                return new EditResult(true, missing);
            }
        }

        await using (var command = Command(connection, replace, ("$id", id), ("$list", list)))
        {
            command.Transaction = transaction;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return EditResult.Applied;
    }

    /// <summary>
    /// Lists of strings by one <c>$id</c>, read in one snapshot: the first statement says whether the row exists (a
    /// non-zero number), each further one gives a list; <see langword="null"/> when the row does not exist (or is inactive).
    /// </summary>
    private async ValueTask<List<string>[]?> QueryListsAsync(string queryName, string sql, string id, CancellationToken cancellationToken)
    {
        await using var connection = Open(queryName);
        // One read transaction: the answers never come from both sides of an edit.
        await using var transaction = BeginRead(connection);
        await using var command = Command(connection, sql, ("$id", id));
        command.Transaction = transaction;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken) || reader.GetInt64(0) == 0)
        {
            return null;
        }

        var lists = new List<List<string>>();
        while (await reader.NextResultAsync(cancellationToken))
        {
            lists.Add(await ReadStringsAsync(reader, cancellationToken));
        }

        return [.. lists];
    }

    /// <summary>The first row of a query by one <c>$id</c>, mapped; <see langword="null"/> when there is none.</summary>
    private async ValueTask<T?> QueryRowAsync<T>(string queryName, string sql, string id, Func<SqliteDataReader, T> map, CancellationToken cancellationToken)
        where T : class
    {
        await using var connection = Open(queryName);
        await using var command = Command(connection, sql, ("$id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? map(reader) : null;
    }

    private SqliteConnection Open(string queryName)
    {
        _queries.Record(queryName);
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    // BEGIN IMMEDIATE: the write lock is taken before the first read, so an edit's checks and its write see one state.
    private static SqliteTransaction BeginWrite(SqliteConnection connection) => connection.BeginTransaction(deferred: false);

    // BEGIN DEFERRED: a read takes no write lock; its statements still read one snapshot.
    private static SqliteTransaction BeginRead(SqliteConnection connection) => connection.BeginTransaction(deferred: true);

    private static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    private static async Task<List<string>> ReadStringsAsync(SqliteDataReader reader, CancellationToken cancellationToken)
    {
        var values = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
