namespace Jobkeeper.Relational;

/// <summary>
/// One connection's part of a <see cref="GroupCommitWriter{TWrite}"/>: the store's transaction, statements and commit,
/// and what it can find out when the connection breaks while committing. Used by one writer loop only.
/// </summary>
internal interface IGroupCommitter<in TWrite> : IAsyncDisposable
{
    /// <summary>Runs the writes in one transaction and says how it ended.</summary>
    ValueTask<CommitAttempt> TryCommitAsync(IReadOnlyList<TWrite> writes);

    /// <summary>Right after the last attempt committed, before its callers are answered: tells the observers what it changed.</summary>
    void Publish();

    /// <summary>What each caller of a write that did not commit (or may not have) is told.</summary>
    Exception Failure(CommitAttempt attempt);
}

/// <summary>What became of a transaction.</summary>
internal enum CommitOutcome
{
    Committed,
    RolledBack,

    /// <summary>COMMIT was sent, its reply never came, and whether it took effect could not be found out.</summary>
    Unknown,
}

/// <summary>
/// How one attempt at a transaction ended. Rolled back: <see cref="ByStatement"/> when a statement failed (the
/// connection is fine, so the writes are replayed one by one), <see cref="MayRetry"/> when the connection broke with
/// nothing committed (so the batch is tried once more).
/// </summary>
internal readonly record struct CommitAttempt(CommitOutcome Outcome, Exception? Error = null, bool ByStatement = false, bool MayRetry = false)
{
    public static CommitAttempt Done => new(CommitOutcome.Committed);
}
