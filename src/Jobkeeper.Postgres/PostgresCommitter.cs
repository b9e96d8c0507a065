using Jobkeeper.Errors;
using Jobkeeper.Relational;
using Jobkeeper.Relational.Queues;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// One of this instance's writer connections in the group commit (<see cref="GroupCommitWriter{TWrite}"/>; a few work at
/// once, so one transaction's round trips and fsync overlap the next: writes in flight together are independent, each
/// is compare-and-set). A batch commits in two or three round trips.
/// <para>
/// A caller's answer is always the truth about what is stored. When the connection breaks before COMMIT was sent,
/// nothing committed: the batch is tried once more on a fresh connection, then fails (503, not acknowledged). When
/// it breaks after COMMIT was sent, the transaction may have committed: <see cref="PostgresCommitCheck"/> asks
/// PostgreSQL by the transaction's id. Committed, the batch is answered as done and told to the observers, once, as
/// any commit; rolled back, it is treated as never committed; still unknown after the store timeout, it fails with
/// 503 saying the outcome is unknown. Never is a batch that may have committed replayed as if it had not: the
/// replay would find its own rows and answer the callers with a conflict.
/// </para>
/// </summary>
internal sealed class PostgresCommitter(
    NpgsqlDataSource dataSource,
    PostgresStoreOptions options,
    string instance,
    Action<PostgresCommit> committed,
    QueueFlowState flow,
    ILogger logger) : IGroupCommitter<IPostgresWriteOp>
{
    private readonly PostgresCommit _commit = new() { Flow = flow };
    private readonly PostgresCommitCheck _check = new(dataSource, options.Timeout, logger);
    private NpgsqlConnection? _connection;

    /// <summary>Right after a commit, on the writer, before the writers are answered: the store tells its observers and live streams.</summary>
    public void Publish() => committed(_commit);

    public Exception Failure(CommitAttempt attempt)
    {
        var error = attempt.Error!;
        return error as StoreUnavailableException ?? new StoreUnavailableException(attempt switch
        {
            { Outcome: CommitOutcome.Unknown } =>
                "The connection to PostgreSQL broke while the write was committing, and whether it committed could not be found out; " +
                "read the job to see whether it did. " + error.Message,
            { ByStatement: true } => "PostgreSQL refused the write: " + error.Message,
            _ => "PostgreSQL could not be reached to commit the write; it was not committed. " + error.Message,
        }, error);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs the writes in one transaction and says how it ended: committed, rolled back (and why), or unknown.</summary>
    public async ValueTask<CommitAttempt> TryCommitAsync(IReadOnlyList<IPostgresWriteOp> ops)
    {
        _commit.Clear();
        NpgsqlConnection connection;
        try
        {
            connection = _connection ??= await dataSource.OpenConnectionAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            logger.LogWarning("The store writer cannot reach PostgreSQL: {Error}", ex.Message);
            return new CommitAttempt(CommitOutcome.RolledBack, ex);
        }

        var transaction = new PostgresTransaction(connection);
        using var timeout = new CancellationTokenSource(options.Timeout * 2);
        try
        {
            await SelectAsync(ops, connection, transaction, timeout.Token).ConfigureAwait(false);
            await FlowAsync(ops, connection, transaction, timeout.Token).ConfigureAwait(false);
            foreach (var op in ops)
            {
                op.AddRowWrites(_commit.Rows);
            }

            if (_commit.Rows.HasCommands)
            {
                await using var rows = transaction.NewBatch();
                // A new job's partition comes from its queue's settings as the insert reads them: they must not change meanwhile.
                var locked = _commit.Rows.HasInserts;
                if (locked)
                {
                    rows.BatchCommands.Add(new NpgsqlBatchCommand(PostgresFlowLocks.SettingsShared));
                }

                _commit.Rows.AddCommands(rows);
                PostgresTransaction.AddIdQuery(rows);
                await using var reader = await rows.ExecuteReaderAsync(timeout.Token).ConfigureAwait(false);
                if (locked)
                {
                    await reader.NextResultAsync(timeout.Token).ConfigureAwait(false);
                }

                await _commit.Rows.ReadResultsAsync(reader, timeout.Token).ConfigureAwait(false);
                await transaction.ReadIdAsync(reader, timeout.Token).ConfigureAwait(false);
            }

            foreach (var op in ops)
            {
                op.Written(_commit);
            }

            transaction.SendingCommit();
            await FinishAsync(connection, timeout.Token).ConfigureAwait(false);
            return CommitAttempt.Done;
        }
        catch (Exception ex)
        {
            var byStatement = ex is PostgresException { InvariantSeverity: "ERROR" } && connection.FullState == System.Data.ConnectionState.Open;
            await RollBackAsync(connection, byStatement).ConfigureAwait(false);
            if (byStatement || !transaction.CommitSent || transaction.Id is not { } id)
            {
                // A statement error rolls back; a connection lost before COMMIT was sent takes the transaction with it;
                // and a transaction without an id wrote nothing, so it has nothing to lose either way.
                return new CommitAttempt(CommitOutcome.RolledBack, ex, byStatement, MayRetry: !byStatement && !IsTimeout(ex));
            }

            return await CheckCommitAsync(ops.Count, id, ex).ConfigureAwait(false);
        }
    }

    /// <summary>The connection broke after COMMIT was sent: asks PostgreSQL what became of the transaction.</summary>
    private async Task<CommitAttempt> CheckCommitAsync(int batchSize, ulong transactionId, Exception error)
    {
        var (outcome, lastEventId) = await _check.CheckAsync(transactionId, _commit.LastEventJobId).ConfigureAwait(false);
        switch (outcome)
        {
            case CommitOutcome.Committed:
                logger.LogWarning("The connection broke while a batch of {BatchSize} writes was committing ({Error}); PostgreSQL confirms " +
                    "transaction {TransactionId} committed, so they are answered as done", batchSize, error.Message, transactionId);
                _commit.Committed(lastEventId);
                return CommitAttempt.Done;
            case CommitOutcome.RolledBack:
                logger.LogWarning("The connection broke while a batch of {BatchSize} writes was committing ({Error}); PostgreSQL says " +
                    "transaction {TransactionId} rolled back", batchSize, error.Message, transactionId);
                return new CommitAttempt(CommitOutcome.RolledBack, error, MayRetry: !IsTimeout(error));
            default:
                logger.LogError("The connection broke while a batch of {BatchSize} writes was committing ({Error}); whether transaction " +
                    "{TransactionId} committed is unknown, so they fail with 503", batchSize, error.Message, transactionId);
                return new CommitAttempt(CommitOutcome.Unknown, error);
        }
    }

    private static bool IsTimeout(Exception error) =>
        error is OperationCanceledException or TimeoutException || error.InnerException is TimeoutException;

    /// <summary>
    /// One round trip for every op's selects (claims pick and lock their jobs), when there are any. With claims, it first
    /// takes the settings lock shared and reads the settings' epoch: when another instance changed them since this one
    /// read them, the selects (built from the old settings) are dropped, the settings read again, and the selects rerun.
    /// </summary>
    private async Task SelectAsync(IReadOnlyList<IPostgresWriteOp> ops, NpgsqlConnection connection, PostgresTransaction transaction,
        CancellationToken cancellationToken)
    {
        var claims = ops.Count(op => op.IsClaim);
        var uniqueLocks = PostgresUniqueLocks.Command(ops.SelectMany(op => op.UniqueKeys));
        // Ops that may wait for a row lock (a debounce) select before the claims lock theirs: a transaction never waits
        // while holding rows it claimed.
        var order = ops.Where(op => !op.IsClaim).Concat(ops.Where(op => op.IsClaim)).ToList();
        for (var attempt = 0; ; attempt++)
        {
            await using var batch = transaction.NewBatch();
            transaction.ClearUniqueWrites();
            // Unique keys first, before the settings lock and the queues' locks: every transaction takes its locks in that order.
            if (uniqueLocks is not null)
            {
                batch.BatchCommands.Add(uniqueLocks);
            }

            if (claims > 0)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(PostgresFlowLocks.SettingsShared));
                batch.BatchCommands.Add(new NpgsqlBatchCommand(PostgresFlowLocks.Epoch));
            }

            var counts = new int[order.Count];
            for (var i = 0; i < order.Count; i++)
            {
                var before = batch.BatchCommands.Count;
                order[i].AddSelects(batch, Math.Max(1, claims));
                counts[i] = batch.BatchCommands.Count - before;
            }

            if (claims == 0 && counts.All(c => c == 0))
            {
                transaction.Unbegin();
                return;
            }

            // The locks of the flow-controlled queues the claims walk, in name order, in this same round trip.
            // (A lock an earlier, stale attempt of this transaction took is simply taken again: it is held already.)
            var locks = ops.OfType<PostgresClaimOp>().SelectMany(op => op.FlowQueues).Select(q => q.Name)
                .Distinct().Order(StringComparer.Ordinal).ToList();
            foreach (var name in locks)
            {
                batch.BatchCommands.Add(PostgresCommit.Command(PostgresFlowLocks.Queue, PostgresFlowLocks.KeyOf(name)));
            }

            // A delete writes here, and may be all the transaction writes.
            PostgresTransaction.AddIdQuery(batch);
            var stale = false;
            long epoch = 0;
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                var started = false;
                if (uniqueLocks is not null)
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                    }

                    started = true;
                }

                if (claims > 0)
                {
                    if (started)
                    {
                        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                    await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    epoch = reader.GetInt64(0);
                    // Each claim against the settings it was built from (another writer connection may have read newer ones since).
                    stale = ops.OfType<PostgresClaimOp>().Any(op => op.Epoch != epoch);
                }

                if (!stale)
                {
                    var results = new PostgresSelectResults(reader, started: started || claims > 0);
                    for (var i = 0; i < order.Count; i++)
                    {
                        if (counts[i] > 0)
                        {
                            await order[i].ReadSelectsAsync(results, transaction, cancellationToken).ConfigureAwait(false);
                        }
                    }

                    foreach (var _ in locks)
                    {
                        await results.NextAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await transaction.ReadIdAsync(reader, cancellationToken).ConfigureAwait(false);
                    return;
                }
            }

            if (attempt == 2)
            {
                throw new InvalidOperationException("The queue settings kept changing while a claim read them.");
            }

            // Read under the settings lock this transaction holds: they cannot change again before it commits (unless another
            // writer connection read them already).
            if (flow.Current.Epoch != epoch)
            {
                flow.Set(await PostgresFlowLocks.LoadAsync(connection, cancellationToken).ConfigureAwait(false));
            }
        }
    }

    /// <summary>
    /// Claims that walk flow-controlled queues pick under those queues' locks (taken with the selects, in name order): one
    /// round trip counts what runs and reads the due jobs, and one writes the starts and the partitions' turn.
    /// </summary>
    private static async Task FlowAsync(IReadOnlyList<IPostgresWriteOp> ops, NpgsqlConnection connection, PostgresTransaction transaction,
        CancellationToken cancellationToken)
    {
        var flowing = ops.OfType<PostgresClaimOp>().Where(op => op.FlowQueues.Count > 0).ToList();
        if (flowing.Count == 0)
        {
            return;
        }

        var session = new PostgresFlowSession(connection);
        foreach (var op in flowing)
        {
            await op.FlowAsync(session, transaction, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Events, labels, the notice and COMMIT in one round trip; with events, the first result is the last id of their block.</summary>
    private async Task FinishAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var finish = new NpgsqlBatch(connection);
        _commit.AddFinish(finish, options.Channel, instance);
        long lastEventId = 0;
        await using (var reader = await finish.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_commit.HasEvents && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                lastEventId = reader.GetInt64(0);
            }

            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
            {
            }
        }

        _commit.Committed(lastEventId);
    }

    private async Task RollBackAsync(NpgsqlConnection connection, bool byStatement)
    {
        if (byStatement)
        {
            try
            {
                await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
                await rollback.ExecuteNonQueryAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Rolling back failed: {Error}", ex.Message);
            }
        }

        // The connection is broken or in an unknown state: drop it; the next batch opens a new one.
        _connection = null;
        await connection.DisposeAsync().ConfigureAwait(false);
    }
}
