using Jobkeeper.StoreContract;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Jobkeeper.Postgres.Tests;

/// <summary>What is particular to the PostgreSQL schema the migrations make.</summary>
public sealed class PostgresSchemaTests
{
    [Fact]
    public async Task The_partial_indexes_hold_the_statuses_the_queries_ask_for()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using (var store = new PostgresJobStore(new PostgresStoreOptions { ConnectionString = database.ConnectionString }, [],
            NullLogger<PostgresJobStore>.Instance))
        {
            await store.InitializeAsync(CancellationToken.None);
        }

        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT i.indexrelid::regclass::text, pg_get_expr(i.indpred, i.indrelid) FROM pg_index i " +
            "WHERE i.indrelid = 'jobs'::regclass AND i.indpred IS NOT NULL", connection);
        var predicates = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                predicates[reader.GetString(0)] = reader.GetString(1);
            }
        }

        StatusIndexes.AssertMatch(predicates);
    }
}
