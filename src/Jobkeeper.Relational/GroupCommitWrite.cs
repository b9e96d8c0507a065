namespace Jobkeeper.Relational;

/// <summary>A write waiting for a <see cref="GroupCommitWriter{TWrite}"/>: answered once, after its transaction's outcome is known.</summary>
internal interface IGroupCommitWrite
{
    /// <summary>A large write (a cleanup batch, a delete) that gets a transaction of its own.</summary>
    bool IsBulk { get; }

    void Complete();

    void Fail(Exception error);
}

/// <summary>
/// A write whose caller awaits a <typeparamref name="T"/>. Its values are prepared on the caller's thread; the store's
/// committer runs it (setting <see cref="Result"/>) and the writer answers the caller after the commit.
/// </summary>
internal abstract class GroupCommitWrite<T> : IGroupCommitWrite
{
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _completion.Task;

    public virtual bool IsBulk => false;

    protected T Result { get; set; } = default!;

    public void Complete() => _completion.TrySetResult(Result);

    public void Fail(Exception error) => _completion.TrySetException(error);
}
