using System.Data.Common;
using System.Text;
using Jobkeeper.Relational;
using Jobkeeper.Relational.Queues;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// The locks that make flow control exact over many instances, all transaction-scoped advisory locks (no row is written
/// to take them). Every claim and insert holds the settings lock shared; a change of a queue's settings holds it alone,
/// so it waits for the claims in flight and the next claims see it. A claim that walks a flow-controlled queue holds
/// that queue's lock alone while it counts and takes, so two instances never both see room for the last slot. Queue
/// locks are taken in name order, all at once per transaction, so two claims never wait for each other in a circle.
/// </summary>
internal static class PostgresFlowLocks
{
    // Two-key advisory locks live apart from the one-key locks of migrations and the maintenance election.
    private const int SettingsSpace = 0x4A4B5153;
    private const int QueueSpace = 0x4A4B5155;

    public static readonly string SettingsShared = $"SELECT pg_advisory_xact_lock_shared({SettingsSpace}, 0)";

    public static readonly string SettingsAlone = $"SELECT pg_advisory_xact_lock({SettingsSpace}, 0)";

    public static readonly string Queue = $"SELECT pg_advisory_xact_lock({QueueSpace}, $1)";

    public const string Epoch = "SELECT epoch FROM queue_epoch";

    public const string NextEpoch = "UPDATE queue_epoch SET epoch = epoch + 1 RETURNING epoch";

    /// <summary>A queue's lock key: FNV-1a of its name (two names that share a key only wait for each other).</summary>
    public static int KeyOf(string queue)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(queue))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return unchecked((int)hash);
    }

    /// <summary>Reads every queue's settings and the epoch they are at (under the settings lock, or at start-up without one).</summary>
    public static async Task<QueueFlowSnapshot> LoadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // The epoch first: when a change commits between the two reads (at start-up no lock is held), the copy carries the
        // older epoch, so the next claim finds it stale and reads again; the other order could pair old settings with the
        // new epoch and claim past the change for good.
        var session = new PostgresFlowSession(connection);
        var epoch = await session.QueryAsync(new SqlQuery(Epoch, []), r => r.GetInt64(0), cancellationToken).ConfigureAwait(false);
        var settings = await session.QueryAsync(QueueRows.All(), QueueRows.Read, cancellationToken).ConfigureAwait(false);
        return new QueueFlowSnapshot(settings, epoch[0]);
    }

    public static NpgsqlBatchCommand Command(SqlQuery query) =>
        PostgresCommit.Command(query.Text, [.. query.Parameters.Select(p => p.Value)]);
}

/// <summary>
/// The advisory locks of unique keys (a two-key space of their own), taken at the start of a writer's transaction: every key
/// of the transaction in one statement, in the order of their lock numbers, so two transactions never wait for each other in
/// a circle. Two keys with one number only wait for each other.
/// </summary>
internal static class PostgresUniqueLocks
{
    private const int UniqueSpace = 0x4A4B554B;

    private static readonly string Sql = $"SELECT pg_advisory_xact_lock({UniqueSpace}, k) FROM unnest($1::integer[]) AS k";

    /// <summary>The statement that locks <paramref name="keys"/>, or null when there are none.</summary>
    public static NpgsqlBatchCommand? Command(IEnumerable<string> keys)
    {
        var numbers = keys.Select(PostgresFlowLocks.KeyOf).Distinct().Order().ToArray();
        return numbers.Length == 0 ? null : new NpgsqlBatchCommand(Sql) { Parameters = { new NpgsqlParameter { Value = numbers } } };
    }
}

/// <summary>Flow control's statements on the writer's connection, inside its transaction.</summary>
internal sealed class PostgresFlowSession(NpgsqlConnection connection) : IFlowSession
{
    public ISqlDialect Dialect => PostgresDialect.Instance;

    public async ValueTask<List<T>> QueryAsync<T>(SqlQuery query, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = Command(query);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    public async ValueTask ExecuteAsync(SqlQuery query, CancellationToken cancellationToken)
    {
        await using var command = Command(query);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask ExecuteManyAsync(IReadOnlyList<SqlQuery> queries, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection);
        foreach (var query in queries)
        {
            batch.BatchCommands.Add(PostgresFlowLocks.Command(query));
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<List<List<object>>> QueryManyAsync(IReadOnlyList<(SqlQuery Query, Func<DbDataReader, object> Read)> queries,
        CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection);
        foreach (var (query, _) in queries)
        {
            batch.BatchCommands.Add(PostgresFlowLocks.Command(query));
        }

        var results = new List<List<object>>(queries.Count);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < queries.Count; i++)
        {
            if (i > 0 && !await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("A flow batch returned fewer result sets than it sent statements.");
            }

            var rows = new List<object>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(queries[i].Read(reader));
            }

            results.Add(rows);
        }

        return results;
    }

    private NpgsqlCommand Command(SqlQuery query)
    {
        var command = new NpgsqlCommand(query.Text, connection);
        foreach (var (_, value) in query.Parameters)
        {
            command.Parameters.Add(PostgresCommit.Parameter(value));
        }

        return command;
    }
}
