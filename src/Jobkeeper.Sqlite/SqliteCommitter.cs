using Jobkeeper.Errors;
using Jobkeeper.Relational;
using Jobkeeper.Storage;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite;

/// <summary>
/// The SQLite part of the group commit: the one write connection (<see cref="SqliteWriteSession"/>). A statement error
/// rolls back and is replayed write by write; damage is not replayed (each write would fail again, or succeed on top of
/// the damage), and once damage has been seen nothing more is written. Every error names the file.
/// </summary>
internal sealed class SqliteCommitter(SqliteWriteSession session, StoreObservers observers, SqliteCheckpointer checkpointer, SqliteFaults faults,
    Relational.Queues.QueueFlowState flow)
    : IGroupCommitter<ISqliteWriteOp>
{
    private readonly List<CommittedChange> _changes = [];

    public ValueTask<CommitAttempt> TryCommitAsync(IReadOnlyList<ISqliteWriteOp> writes)
    {
        _changes.Clear();
        if (faults.Damaged() is { } damaged)
        {
            return ValueTask.FromResult(new CommitAttempt(CommitOutcome.RolledBack, damaged));
        }

        try
        {
            session.Begin();
            foreach (var write in writes)
            {
                write.Execute(session, _changes);
            }

            session.Commit();
        }
        catch (Exception ex)
        {
            session.Rollback();
            return ValueTask.FromResult(new CommitAttempt(CommitOutcome.RolledBack, ex, ByStatement: ex is not SqliteException sqlite || !SqliteFaults.IsDamage(sqlite)));
        }

        checkpointer.Committed();
        return ValueTask.FromResult(CommitAttempt.Done);
    }

    public void Publish() => observers.Publish(_changes, eventsByFeed: false, flow.Current);

    /// <summary>Damage seen before or now makes it <see cref="StoreCorruptException"/>.</summary>
    public Exception Failure(CommitAttempt attempt) => attempt switch
    {
        { Outcome: CommitOutcome.Unknown, Error: var error } => new StoreUnavailableException("The store writer failed: " + error!.Message, error),
        { Error: SqliteException sqlite } => faults.Translate(sqlite, "writing"),
        { Error: StoreUnavailableException refused } => refused,
        { Error: var error } => new StoreUnavailableException("The store could not commit the write: " + error!.Message, error),
    };

    public ValueTask DisposeAsync()
    {
        session.Dispose();
        return ValueTask.CompletedTask;
    }
}
