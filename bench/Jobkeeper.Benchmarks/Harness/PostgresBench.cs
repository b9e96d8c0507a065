using Npgsql;

namespace Jobkeeper.Benchmarks.Harness;

/// <summary>Fresh databases on the benchmark PostgreSQL server (PG_BENCH, a connection string with a database to connect to for admin).</summary>
public static class PostgresBench
{
    public static string Server =>
        Environment.GetEnvironmentVariable("PG_BENCH") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("Set PG_BENCH to a PostgreSQL connection string (bench/run.sh postgres starts a throwaway server and sets it).");

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static async Task<string> FreshDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(Server);
        await admin.OpenAsync().ConfigureAwait(false);
        await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", admin))
        {
            await drop.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        await using (var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin))
        {
            await create.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        return new NpgsqlConnectionStringBuilder(Server) { Database = name }.ConnectionString;
    }

    public static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        return Convert.ToInt64(await command.ExecuteScalarAsync().ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 1200 };
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }
}
