using System.Diagnostics;
using System.Threading.Channels;
using Jobkeeper.Errors;
using Jobkeeper.Storage;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Sqlite;

/// <summary>
/// The one writer. Concurrent writes queue here and are group-committed: everything waiting when a
/// transaction starts goes into it (up to a batch limit), and each caller is answered only after
/// that transaction committed. One failing write never takes the others down with it: the batch is
/// rolled back and replayed one write per transaction.
/// </summary>
internal sealed class SqliteWriter : IAsyncDisposable
{
    private readonly Channel<WriteOp> _queue = Channel.CreateUnbounded<WriteOp>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });

    private readonly SqliteWriteSession _session;
    private readonly IJobStoreObserver[] _observers;
    private readonly SqliteCheckpointer _checkpointer;
    private readonly SqliteFaults _faults;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public SqliteWriter(SqliteWriteSession session, IEnumerable<IJobStoreObserver> observers, int maxBatch, SqliteCheckpointer checkpointer,
        SqliteFaults faults, ILogger logger)
    {
        _session = session;
        _checkpointer = checkpointer;
        _faults = faults;
        _observers = observers.ToArray();
        _maxBatch = Math.Max(1, maxBatch);
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    public Task<T> Enqueue<T>(WriteOp<T> op)
    {
        _faults.ThrowIfDamaged();
        if (!_queue.Writer.TryWrite(op))
        {
            throw new StoreUnavailableException("The store is shutting down and accepts no more writes.");
        }

        return op.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<WriteOp>(_maxBatch);
        var changes = new List<CommittedChange>(_maxBatch);
        var reader = _queue.Reader;
        WriteOp? carried = null;
        while (carried is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            carried = GroupCommit.Fill(batch, carried, reader, _maxBatch);
            try
            {
                WriteBatch(batch, changes);
            }
            catch (Exception ex)
            {
                // Never let the loop die: a dead writer would leave every caller waiting forever.
                _logger.LogCritical(ex, "The store writer failed unexpectedly; {BatchSize} writes are refused", batch.Count);
                foreach (var op in batch)
                {
                    op.Fail(new StoreUnavailableException("The store writer failed: " + ex.Message, ex));
                }
            }

            // The callers just answered usually write again at once; one yield lets them queue their
            // next writes so the following transaction carries a fuller group.
            if (carried is null)
            {
                await Task.Yield();
            }
        }
    }

    private void WriteBatch(List<WriteOp> batch, List<CommittedChange> changes)
    {
        var started = Stopwatch.GetTimestamp();
        changes.Clear();
        var error = TryCommit(batch, changes);
        if (error is null)
        {
            Publish(changes);
            foreach (var op in batch)
            {
                op.Complete();
            }
        }
        else if (IsDamage(error))
        {
            // No replay on a damaged file: each write would fail again, or succeed on top of the damage.
            foreach (var op in batch)
            {
                op.Fail(Failure(error));
            }
        }
        else
        {
            // Replay each write in a transaction of its own, so only the one at fault fails.
            _logger.LogWarning(error, "A batch of {BatchSize} writes failed; replaying them one by one", batch.Count);
            foreach (var op in batch)
            {
                CommitAlone(op, changes);
            }
        }

        _checkpointer.Committed();
        JobkeeperMetrics.CommitBatchSize.Record(batch.Count);
        JobkeeperMetrics.CommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>Runs the writes in one transaction; null when it committed, else the error (rolled back).</summary>
    private Exception? TryCommit(IEnumerable<WriteOp> ops, List<CommittedChange> changes)
    {
        try
        {
            _session.Begin();
            foreach (var op in ops)
            {
                op.Execute(_session, changes);
            }

            _session.Commit();
            return null;
        }
        catch (Exception ex)
        {
            _session.Rollback();
            return ex;
        }
    }

    private void CommitAlone(WriteOp op, List<CommittedChange> changes)
    {
        if (_faults.Damage is not null)
        {
            op.Fail(Failure(null));
            return;
        }

        changes.Clear();
        var error = TryCommit([op], changes);
        if (error is null)
        {
            Publish(changes);
            op.Complete();
            return;
        }

        _logger.LogError(error, "A store write failed and was rolled back");
        op.Fail(Failure(error));
    }

    private static bool IsDamage(Exception error) => error is Microsoft.Data.Sqlite.SqliteException sqlite && SqliteFaults.IsDamage(sqlite);

    /// <summary>What a write that failed is told; damage seen before (a null error) or now makes it <see cref="StoreCorruptException"/>.</summary>
    private StoreUnavailableException Failure(Exception? error) => error switch
    {
        Microsoft.Data.Sqlite.SqliteException sqlite => _faults.Translate(sqlite, "writing"),
        null => _faults.Damaged() ?? new StoreUnavailableException("The store could not commit the write."),
        _ => new StoreUnavailableException("The store could not commit the write: " + error.Message, error),
    };

    private void Publish(List<CommittedChange> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        foreach (var observer in _observers)
        {
            try
            {
                observer.JobsCommitted(changes);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Store observer {Observer} failed", observer.GetType().Name);
            }
        }
    }

    /// <summary>Stops accepting writes, commits everything already accepted, then returns.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _session.Dispose();
    }
}
