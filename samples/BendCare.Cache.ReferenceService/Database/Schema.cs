using Microsoft.Data.Sqlite;

namespace BendCare.Cache.ReferenceService.Database;

/// <summary>
/// The tables and the seed data: 1,000 users <c>u1</c>..<c>u1000</c>, roles <c>r1</c>..<c>r20</c> plus <c>admin</c>
/// (held by the user <c>admin</c>), ten permissions, five organisations. Deterministic: every run seeds the same data.
/// </summary>
internal static class Schema
{
    public const int UserCount = 1000;
    public const int RoleCount = 20;
    public const string AdminUserId = "admin";
    public const string AdminRoleId = "admin";

    public static readonly string[] Permissions =
    [
        "reports:read", "reports:export", "patients:read", "patients:write", "appointments:read",
        "appointments:write", "billing:read", "billing:write", "users:read", "admin:write",
    ];

    // Role rK belongs to family (K-1) % 4: what a clinician, a billing clerk, the front desk and an analyst need.
    private static readonly (string Name, string[] Permissions)[] Families =
    [
        ("Clinician", ["patients:read", "patients:write", "appointments:read", "reports:read"]),
        ("Billing", ["billing:read", "billing:write", "reports:read"]),
        ("Front desk", ["appointments:read", "appointments:write", "patients:read"]),
        ("Analyst", ["reports:read", "reports:export", "users:read"]),
    ];

    private const string CreateTables = """
        CREATE TABLE IF NOT EXISTS users (
            id TEXT PRIMARY KEY, email TEXT NOT NULL, display_name TEXT, is_active INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS organizations (id TEXT PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS user_organizations (
            user_id TEXT NOT NULL REFERENCES users(id), organization_id TEXT NOT NULL REFERENCES organizations(id),
            PRIMARY KEY (user_id, organization_id));
        CREATE TABLE IF NOT EXISTS roles (id TEXT PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS permissions (name TEXT PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS role_permissions (
            role_id TEXT NOT NULL REFERENCES roles(id), permission TEXT NOT NULL REFERENCES permissions(name),
            PRIMARY KEY (role_id, permission));
        CREATE TABLE IF NOT EXISTS user_roles (
            user_id TEXT NOT NULL REFERENCES users(id), role_id TEXT NOT NULL REFERENCES roles(id),
            PRIMARY KEY (user_id, role_id));
        CREATE INDEX IF NOT EXISTS user_roles_by_role ON user_roles(role_id);
        CREATE TABLE IF NOT EXISTS issued_tokens (
            jti TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
        """;

    /// <summary>The roles user <c>u{n}</c> holds: 1 to 3 of <c>r1</c>..<c>r20</c>.</summary>
    public static IEnumerable<string> RolesOf(int n)
    {
        int count = n % 3 + 1;
        for (int j = 0; j < count; j++)
        {
            yield return "r" + ((n - 1 + j * 7) % RoleCount + 1);
        }
    }

    /// <summary>Creates the tables when missing and seeds them when empty, in one transaction: run by every instance, seeds once.</summary>
    /// <returns>Whether this call seeded the data.</returns>
    public static bool EnsureCreatedAndSeeded(SqliteConnection connection)
    {
        using (var wal = connection.CreateCommand())
        {
            // Readers of one instance do not block the writer of another (two instances share one file).
            wal.CommandText = "PRAGMA journal_mode=WAL;";
            wal.ExecuteNonQuery();
        }

        // IMMEDIATE takes the write lock first, so a second instance starting at the same moment waits and then
        // finds the data there instead of seeding it twice.
        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction, CreateTables);
        using (var count = connection.CreateCommand())
        {
            count.Transaction = transaction;
            count.CommandText = "SELECT COUNT(*) FROM users;";
            if (Convert.ToInt64(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0)
            {
                transaction.Commit();
                return false;
            }
        }

        Seed(connection, transaction);
        transaction.Commit();
        return true;
    }

    private static void Seed(SqliteConnection connection, SqliteTransaction transaction)
    {
        string[] organizations = ["o1", "o2", "o3", "o4", "o5"];
        using var insert = new Inserter(connection, transaction);
        foreach (string permission in Permissions)
        {
            insert.Row("INSERT INTO permissions(name) VALUES ($a);", permission);
        }

        for (int i = 0; i < organizations.Length; i++)
        {
            insert.Row("INSERT INTO organizations(id, name) VALUES ($a, $b);", organizations[i], $"Clinic {i + 1}");
        }

        for (int k = 1; k <= RoleCount; k++)
        {
            var family = Families[(k - 1) % Families.Length];
            insert.Row("INSERT INTO roles(id, name) VALUES ($a, $b);", "r" + k, $"{family.Name} {k}");
            foreach (string permission in family.Permissions)
            {
                insert.Row("INSERT INTO role_permissions(role_id, permission) VALUES ($a, $b);", "r" + k, permission);
            }
        }

        insert.Row("INSERT INTO roles(id, name) VALUES ($a, $b);", AdminRoleId, "Administrator");
        foreach (string permission in Permissions)
        {
            insert.Row("INSERT INTO role_permissions(role_id, permission) VALUES ($a, $b);", AdminRoleId, permission);
        }

        for (int n = 1; n <= UserCount; n++)
        {
            string userId = "u" + n;
            insert.Row("INSERT INTO users(id, email, display_name, is_active) VALUES ($a, $b, $c, 1);", userId, $"{userId}@example.org", $"User {n}");
            insert.Row("INSERT INTO user_organizations(user_id, organization_id) VALUES ($a, $b);", userId, organizations[(n - 1) % organizations.Length]);
            foreach (string roleId in RolesOf(n))
            {
                insert.Row("INSERT INTO user_roles(user_id, role_id) VALUES ($a, $b);", userId, roleId);
            }
        }

        insert.Row("INSERT INTO users(id, email, display_name, is_active) VALUES ($a, $b, $c, 1);", AdminUserId, "admin@example.org", "Administrator");
        insert.Row("INSERT INTO user_roles(user_id, role_id) VALUES ($a, $b);", AdminUserId, AdminRoleId);
        foreach (string organization in organizations)
        {
            insert.Row("INSERT INTO user_organizations(user_id, organization_id) VALUES ($a, $b);", AdminUserId, organization);
        }
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>One prepared command per statement text, reused for every row.</summary>
    private sealed class Inserter(SqliteConnection connection, SqliteTransaction transaction) : IDisposable
    {
        private static readonly string[] Names = ["$a", "$b", "$c"];
        private readonly Dictionary<string, SqliteCommand> _commands = [];

        public void Row(string sql, params string[] values)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = sql;
                for (int i = 0; i < values.Length; i++)
                {
                    command.Parameters.Add(new SqliteParameter(Names[i], SqliteType.Text));
                }

                command.Prepare();
                _commands[sql] = command;
            }

            for (int i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i];
            }

            command.ExecuteNonQuery();
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }
        }
    }
}
