using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Sqlite;

/// <summary>
/// One write waiting for the writer. Its values are prepared by the caller's thread; the writer only
/// binds and executes them, then answers the caller after the transaction committed.
/// </summary>
internal abstract class WriteOp
{
    /// <summary>Runs inside the open transaction; adds what it changed to <paramref name="changes"/>.</summary>
    public abstract void Execute(SqliteWriteSession session, List<CommittedChange> changes);

    public abstract void Complete();

    public abstract void Fail(Exception error);

    /// <summary>A large write that is committed in a transaction of its own.</summary>
    public virtual bool IsBulk => false;

    protected static object EventData(JobEvent e) => SqliteJobColumns.Json(e.Data);
}

internal abstract class WriteOp<T> : WriteOp
{
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _completion.Task;

    protected T Result { get; set; } = default!;

    public override void Complete() => _completion.TrySetResult(Result);

    public override void Fail(Exception error) => _completion.TrySetException(error);
}

internal sealed class InsertJobOp(Job job, JobEvent created) : WriteOp<bool>
{
    private readonly object[] _values = SqliteJobColumns.ToValues(job);
    private readonly object _eventData = EventData(created);

    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        Result = session.InsertJob(_values);
        if (!Result)
        {
            return;
        }

        if (job.Labels.Count > 0)
        {
            session.InsertLabels(job.Id, job.Labels, TimeMicros.From(job.CreatedAt));
        }

        changes.Add(new CommittedChange(job.Id, job, [session.InsertEvent(created, _eventData)]));
    }
}

internal sealed class ReplaceJobOp(JobReplacement replacement) : WriteOp<bool>
{
    private readonly object[] _values = SqliteJobColumns.ToValues(replacement.Job);
    private readonly object[] _eventData = replacement.Events.Select(EventData).ToArray();

    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        var job = replacement.Job;
        Result = session.UpdateJob(_values, replacement.ExpectedVersion);
        if (!Result)
        {
            return;
        }

        if (replacement.LabelsChanged)
        {
            session.DeleteLabels(job.Id);
            session.InsertLabels(job.Id, job.Labels, TimeMicros.From(job.CreatedAt));
        }

        var events = new JobEvent[replacement.Events.Count];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = session.InsertEvent(replacement.Events[i], _eventData[i]);
        }

        changes.Add(new CommittedChange(job.Id, job, events));
    }
}

internal sealed class DeleteJobOp(string id) : WriteOp<bool>
{
    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        Result = session.DeleteJob(id);
        if (Result)
        {
            changes.Add(new CommittedChange(id, null, []));
        }
    }
}

internal sealed class DeleteTerminalBatchOp(long cutoffMicros, int batchSize) : WriteOp<IReadOnlyList<string>>
{
    public override bool IsBulk => true;

    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        var ids = session.SelectTerminal(cutoffMicros, batchSize);
        foreach (var id in ids)
        {
            session.DeleteJob(id);
            changes.Add(new CommittedChange(id, null, []));
        }

        Result = ids;
    }
}
