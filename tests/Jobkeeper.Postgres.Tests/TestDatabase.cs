using Npgsql;

namespace Jobkeeper.Postgres.Tests;

/// <summary>
/// A fresh database on the test PostgreSQL server (JOBKEEPER_TEST_POSTGRES, set by scripts/test.sh), dropped
/// on dispose. Each test gets its own, so notices and rows never leak between tests.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private TestDatabase(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    /// <summary>The server's connection string; a missing server fails the test (it is part of the suite, not optional).</summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("JOBKEEPER_TEST_POSTGRES") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                "JOBKEEPER_TEST_POSTGRES is not set. Run the suite with scripts/test.sh, which starts a throwaway PostgreSQL server, " +
                "or point it at one: JOBKEEPER_TEST_POSTGRES=\"Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres\".");

    public static async Task<TestDatabase> CreateAsync()
    {
        var name = "jk_" + Guid.NewGuid().ToString("N")[..16];
        await using (var admin = new NpgsqlConnection(ServerConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name };
        return new TestDatabase(name, builder.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(ServerConnectionString);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }
}
