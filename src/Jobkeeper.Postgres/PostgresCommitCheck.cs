using Jobkeeper.Relational;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Jobkeeper.Postgres;

/// <summary>
/// Finds out, on a fresh connection, whether a transaction committed after the connection it was committing on broke
/// (the server terminated it, the network dropped) before the COMMIT's reply arrived. PostgreSQL keeps every
/// transaction's fate by its id (<c>pg_xact_status</c>), and the writer read its transaction's id in a round trip
/// before COMMIT, so the answer is certain: committed or rolled back. It stays unknown only when the server cannot be
/// asked within the store timeout, or still runs the transaction that long (its old connection not yet noticed as
/// gone). With the answer comes the id of the transaction's last event, found by its job and its creating transaction.
/// </summary>
internal sealed class PostgresCommitCheck(NpgsqlDataSource dataSource, TimeSpan timeout, ILogger logger)
{
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The outcome of transaction <paramref name="transactionId"/>; when committed, also the id of its last event
    /// (0 when it wrote none, or when that event is gone already: its job was deleted since).
    /// </summary>
    public async Task<(CommitOutcome Outcome, long LastEventId)> CheckAsync(ulong transactionId, string? lastEventJobId)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var pause = FirstPause;
        string? lastError = null;
        while (true)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(deadline.Token).ConfigureAwait(false);
                await using var command = new NpgsqlCommand(PostgresJobSql.TransactionOutcome, connection);
                command.Parameters.Add(new NpgsqlParameter { Value = transactionId, NpgsqlDbType = NpgsqlDbType.Xid8 });
                command.Parameters.Add(PostgresCommit.Parameter(lastEventJobId));
                await using var reader = await command.ExecuteReaderAsync(deadline.Token).ConfigureAwait(false);
                await reader.ReadAsync(deadline.Token).ConfigureAwait(false);
                var status = reader.IsDBNull(0) ? null : reader.GetString(0);
                switch (status)
                {
                    case "committed":
                        return (CommitOutcome.Committed, reader.IsDBNull(1) ? 0 : reader.GetInt64(1));
                    case "aborted":
                        return (CommitOutcome.RolledBack, 0);
                    case null:
                        // Only for ids too old to be known, which a transaction of a moment ago is not.
                        logger.LogError("PostgreSQL knows nothing of transaction {TransactionId}; its writes are reported as failed", transactionId);
                        return (CommitOutcome.Unknown, 0);
                }

                lastError = "the transaction is still in progress on the server";
            }
            catch (Exception ex)
            {
                // This connection may have been dropped too: ask again on another, until the deadline.
                lastError = ex.Message;
            }

            if (deadline.IsCancellationRequested)
            {
                logger.LogError("Whether transaction {TransactionId} committed could not be found out within {Timeout}: {Error}",
                    transactionId, timeout, lastError);
                return (CommitOutcome.Unknown, 0);
            }

            try
            {
                await Task.Delay(pause, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The deadline passed while pausing: the loop asks no more.
            }

            pause = pause * 2 < LongestPause ? pause * 2 : LongestPause;
        }
    }
}
