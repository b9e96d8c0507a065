using System.Diagnostics;
using System.Threading.Channels;
using Jobkeeper.Errors;
using Jobkeeper.Storage;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// This instance's one writer. Concurrent writes queue here and are group-committed: everything waiting when
/// a transaction starts goes into it (up to a batch limit) in two round trips, and each caller is answered
/// only after the COMMIT. A statement error rolls the batch back and replays it one write per transaction, so
/// only the write at fault fails; a lost connection fails the batch (503) and the next batch reconnects.
/// </summary>
internal sealed class PostgresWriter : IAsyncDisposable
{
    private readonly Channel<PostgresWriteOp> _queue = Channel.CreateUnbounded<PostgresWriteOp>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresStoreOptions _options;
    private readonly string _instance;
    private readonly Action<PostgresCommit> _committed;
    private readonly ILogger _logger;
    private readonly PostgresCommit _commit = new();
    private readonly Task _loop;
    private NpgsqlConnection? _connection;

    public PostgresWriter(NpgsqlDataSource dataSource, PostgresStoreOptions options, string instance, Action<PostgresCommit> committed, ILogger logger)
    {
        _dataSource = dataSource;
        _options = options;
        _instance = instance;
        _committed = committed;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    public Task<T> Enqueue<T>(PostgresWriteOp<T> op)
    {
        if (!_queue.Writer.TryWrite(op))
        {
            throw new StoreUnavailableException("The store is shutting down and accepts no more writes.");
        }

        return op.Task;
    }

    private async Task RunAsync()
    {
        var maxBatch = Math.Max(1, _options.MaxBatchSize);
        var batch = new List<PostgresWriteOp>(maxBatch);
        var reader = _queue.Reader;
        PostgresWriteOp? carried = null;
        while (carried is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            carried = FillBatch(batch, carried, reader, maxBatch);
            try
            {
                await WriteBatchAsync(batch).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Never let the loop die: a dead writer would leave every caller waiting forever.
                _logger.LogCritical(ex, "The store writer failed unexpectedly; {BatchSize} writes are refused", batch.Count);
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

    /// <summary>Takes what is queued, up to the limit; a bulk write goes alone. Returns a bulk write that must wait for the next batch.</summary>
    private static PostgresWriteOp? FillBatch(List<PostgresWriteOp> batch, PostgresWriteOp? carried, ChannelReader<PostgresWriteOp> reader, int maxBatch)
    {
        batch.Clear();
        if (carried is not null)
        {
            batch.Add(carried);
            if (carried.IsBulk)
            {
                return null;
            }
        }

        while (batch.Count < maxBatch && reader.TryRead(out var op))
        {
            if (op.IsBulk)
            {
                if (batch.Count > 0)
                {
                    return op;
                }

                batch.Add(op);
                return null;
            }

            batch.Add(op);
        }

        return null;
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
            _logger.LogWarning(error, "A batch of {BatchSize} writes failed; replaying them one by one", batch.Count);
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
            _committed(_commit);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Telling observers of a commit failed");
        }

        foreach (var op in ops)
        {
            op.Complete();
        }
    }

    private void Fail(List<PostgresWriteOp> ops, Exception error)
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
            connection = _connection ??= await OpenAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogWarning("The store writer cannot reach PostgreSQL: {Error}", ex.Message);
            return ex;
        }

        var transaction = new PostgresTransaction(connection);
        using var timeout = new CancellationTokenSource(_options.Timeout * 2);
        try
        {
            foreach (var op in ops)
            {
                if (op.Selects)
                {
                    await op.SelectAsync(transaction, timeout.Token).ConfigureAwait(false);
                }
            }

            await using (var rows = transaction.NewBatch())
            {
                foreach (var op in ops)
                {
                    op.AddRowWrites(rows);
                }

                if (rows.BatchCommands.Count > 0)
                {
                    await rows.ExecuteNonQueryAsync(timeout.Token).ConfigureAwait(false);
                }
            }

            foreach (var op in ops)
            {
                op.Written(_commit);
            }

            await using var finish = new NpgsqlBatch(connection);
            _commit.AddFinish(finish, _options.Channel, _instance);
            long lastEventId = 0;
            await using (var reader = await finish.ExecuteReaderAsync(timeout.Token).ConfigureAwait(false))
            {
                // With events, the first result is the last id of the block they took.
                if (_commit.HasEvents && await reader.ReadAsync(timeout.Token).ConfigureAwait(false))
                {
                    lastEventId = reader.GetInt64(0);
                }

                while (await reader.NextResultAsync(timeout.Token).ConfigureAwait(false))
                {
                }
            }

            _commit.Committed(lastEventId);
            return null;
        }
        catch (Exception ex)
        {
            await RollBackAsync(connection, ex).ConfigureAwait(false);
            return ex;
        }
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
                _logger.LogWarning("Rolling back failed: {Error}", ex.Message);
            }
        }

        // The connection is broken or in an unknown state: drop it; the next batch opens a new one.
        _connection = null;
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> OpenAsync() => await _dataSource.OpenConnectionAsync().ConfigureAwait(false);

    /// <summary>Stops accepting writes, commits everything already accepted, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}
