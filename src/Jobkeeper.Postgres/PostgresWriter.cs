using System.Diagnostics;
using System.Threading.Channels;
using Jobkeeper.Errors;
using Jobkeeper.Storage;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// This instance's writers. Concurrent writes queue here and are group-committed: each writer takes everything
/// waiting when its transaction starts (up to a batch limit) and commits it in two or three round trips; each
/// caller is answered only after the COMMIT. A few writers work at once, so one transaction's round trips and
/// fsync overlap the next (writes in flight together are independent: each is compare-and-set). A statement
/// error rolls the batch back and replays it one write per transaction, so only the write at fault fails; a
/// lost connection fails the batch (503, not acknowledged) and the next batch reconnects.
/// </summary>
internal sealed class PostgresWriter : IAsyncDisposable
{
    private readonly Channel<PostgresWriteOp> _queue = Channel.CreateUnbounded<PostgresWriteOp>(
        new UnboundedChannelOptions { SingleReader = false, AllowSynchronousContinuations = false });

    private readonly Task[] _loops;

    public PostgresWriter(NpgsqlDataSource dataSource, PostgresStoreOptions options, string instance, Action<PostgresCommit> committed, ILogger logger)
    {
        _loops = Enumerable.Range(0, Math.Max(1, options.Writers))
            .Select(_ => Task.Run(() => new WriterLoop(_queue.Reader, dataSource, options, instance, committed, logger).RunAsync()))
            .ToArray();
    }

    public Task<T> Enqueue<T>(PostgresWriteOp<T> op)
    {
        if (!_queue.Writer.TryWrite(op))
        {
            throw new StoreUnavailableException("The store is shutting down and accepts no more writes.");
        }

        return op.Task;
    }

    /// <summary>Stops accepting writes, commits everything already accepted, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops).ConfigureAwait(false);
    }

    private sealed class WriterLoop(
        ChannelReader<PostgresWriteOp> queue,
        NpgsqlDataSource dataSource,
        PostgresStoreOptions options,
        string instance,
        Action<PostgresCommit> committed,
        ILogger logger)
    {
        private readonly PostgresCommit _commit = new();
        private NpgsqlConnection? _connection;

        public async Task RunAsync()
        {
            var maxBatch = Math.Max(1, options.MaxBatchSize);
            var batch = new List<PostgresWriteOp>(maxBatch);
            PostgresWriteOp? carried = null;
            while (carried is not null || await queue.WaitToReadAsync().ConfigureAwait(false))
            {
                carried = GroupCommit.Fill(batch, carried, queue, maxBatch);
                if (batch.Count == 0)
                {
                    continue; // another writer took what was queued
                }

                try
                {
                    await WriteBatchAsync(batch).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // Never let the loop die: a dead writer would leave every caller waiting forever.
                    logger.LogCritical(ex, "The store writer failed unexpectedly; {BatchSize} writes are refused", batch.Count);
                    Fail(batch, ex);
                }

                if (carried is null)
                {
                    // The callers just answered usually write again at once; let them queue for a fuller group.
                    await Task.Yield();
                }
            }

            if (_connection is not null)
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
            }
        }

        private async Task WriteBatchAsync(List<PostgresWriteOp> batch)
        {
            var started = Stopwatch.GetTimestamp();
            var error = await TryCommitAsync(batch).ConfigureAwait(false);
            if (error is null)
            {
                Committed(batch);
            }
            else if (error is PostgresException && batch.Count > 1)
            {
                // A statement failed and the transaction rolled back: replay one write per transaction, so only the one at fault fails.
                logger.LogWarning(error, "A batch of {BatchSize} writes failed; replaying them one by one", batch.Count);
                foreach (var op in batch)
                {
                    var alone = await TryCommitAsync([op]).ConfigureAwait(false);
                    if (alone is null)
                    {
                        Committed([op]);
                    }
                    else
                    {
                        Fail([op], alone);
                    }
                }
            }
            else
            {
                Fail(batch, error);
            }

            JobkeeperMetrics.CommitBatchSize.Record(batch.Count);
            JobkeeperMetrics.CommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        private void Committed(List<PostgresWriteOp> ops)
        {
            try
            {
                committed(_commit);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Telling observers of a commit failed");
            }

            foreach (var op in ops)
            {
                op.Complete();
            }
        }

        private static void Fail(List<PostgresWriteOp> ops, Exception error)
        {
            var failure = error as StoreUnavailableException ?? new StoreUnavailableException(
                error is PostgresException
                    ? "PostgreSQL refused the write: " + error.Message
                    : "PostgreSQL could not be reached to commit the write; it was not acknowledged. " + error.Message,
                error);
            foreach (var op in ops)
            {
                op.Fail(failure);
            }
        }

        /// <summary>Runs the writes in one transaction; null when it committed, else the error (rolled back, or the connection dropped).</summary>
        private async Task<Exception?> TryCommitAsync(List<PostgresWriteOp> ops)
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
                return ex;
            }

            var transaction = new PostgresTransaction(connection);
            using var timeout = new CancellationTokenSource(options.Timeout * 2);
            try
            {
                await SelectAsync(ops, transaction, timeout.Token).ConfigureAwait(false);
                foreach (var op in ops)
                {
                    op.AddRowWrites(_commit.Rows);
                }

                if (_commit.Rows.HasCommands)
                {
                    await using var rows = transaction.NewBatch();
                    _commit.Rows.AddCommands(rows);
                    await using var reader = await rows.ExecuteReaderAsync(timeout.Token).ConfigureAwait(false);
                    await _commit.Rows.ReadResultsAsync(reader, timeout.Token).ConfigureAwait(false);
                }

                foreach (var op in ops)
                {
                    op.Written(_commit);
                }

                await FinishAsync(connection, timeout.Token).ConfigureAwait(false);
                return null;
            }
            catch (Exception ex)
            {
                await RollBackAsync(connection, ex).ConfigureAwait(false);
                return ex;
            }
        }

        /// <summary>One round trip for every op's selects (claims pick and lock their jobs), when there are any.</summary>
        private static async Task SelectAsync(List<PostgresWriteOp> ops, PostgresTransaction transaction, CancellationToken cancellationToken)
        {
            var claims = ops.Count(op => op.IsClaim);
            await using var batch = transaction.NewBatch();
            var counts = new int[ops.Count];
            for (var i = 0; i < ops.Count; i++)
            {
                var before = batch.BatchCommands.Count;
                ops[i].AddSelects(batch, Math.Max(1, claims));
                counts[i] = batch.BatchCommands.Count - before;
            }

            if (counts.All(c => c == 0))
            {
                transaction.Unbegin();
                return;
            }

            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var results = new PostgresSelectResults(reader);
            for (var i = 0; i < ops.Count; i++)
            {
                if (counts[i] > 0)
                {
                    await ops[i].ReadSelectsAsync(results, transaction, cancellationToken).ConfigureAwait(false);
                }
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

        private async Task RollBackAsync(NpgsqlConnection connection, Exception error)
        {
            if (error is PostgresException && connection.State == System.Data.ConnectionState.Open)
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
}
