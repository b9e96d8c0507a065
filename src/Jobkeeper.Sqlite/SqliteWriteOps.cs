using Jobkeeper.Model;
using Jobkeeper.Relational;
using Jobkeeper.Relational.Queues;
using Jobkeeper.Storage;

namespace Jobkeeper.Sqlite;

/// <summary>A write the SQLite committer runs inside its open transaction.</summary>
internal interface ISqliteWriteOp : IGroupCommitWrite
{
    /// <summary>Runs inside the open transaction; adds what it changed to <paramref name="changes"/>.</summary>
    void Execute(SqliteWriteSession session, List<CommittedChange> changes);
}

internal abstract class WriteOp<T> : GroupCommitWrite<T>, ISqliteWriteOp
{
    public abstract void Execute(SqliteWriteSession session, List<CommittedChange> changes);

    protected static object EventData(JobEvent e) => JobColumns.Json(e.Data);
}

internal sealed class InsertJobOp(Job job, JobEvent created) : WriteOp<bool>
{
    private readonly object[] _values = JobColumns.ToInsertValues(job);
    private readonly object _eventData = EventData(created);

    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes) => Result = Insert(session, changes);

    /// <summary>Stores the job, its labels and its event; false when the id is taken.</summary>
    public bool Insert(SqliteWriteSession session, List<CommittedChange> changes)
    {
        if (!session.InsertJob(_values))
        {
            return false;
        }

        if (job.Labels.Count > 0)
        {
            session.InsertLabels(job.Id, job.Labels, TimeMicros.From(job.CreatedAt));
        }

        changes.Add(new CommittedChange(job.Id, job, [session.InsertEvent(created, _eventData, job.Status)]));
        return true;
    }
}

/// <summary>
/// A new job with a unique key: the check and the insert run back to back in the single writer's transaction, so no other
/// write comes between them (every write of the store goes through this one writer).
/// </summary>
internal sealed class InsertUniqueJobOp(JobInsert insert) : WriteOp<InsertOutcome>
{
    private readonly InsertJobOp _insert = new(insert.Job, insert.Created);

    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes) => Result = Insert(session, changes);

    public InsertOutcome Insert(SqliteWriteSession session, List<CommittedChange> changes)
    {
        var unique = insert.Unique!;
        var found = session.Query(UniqueSql.Blocking(SqliteDialect.Instance, unique), JobColumns.Read);
        if (found.Count == 0)
        {
            return _insert.Insert(session, changes) ? new InsertOutcome(InsertResult.Created, insert.Job) : InsertOutcome.IdTaken;
        }

        if (unique.Debounce is null)
        {
            return new InsertOutcome(InsertResult.Existing, found[0]);
        }

        var replacement = unique.Debounce(found[0]);
        var values = JobColumns.ToStateValues(replacement.Job, replacement.LabelsChanged);
        object[] eventData = [.. replacement.Events.Select(EventData)];
        return ReplaceJobOp.Apply(session, replacement, values, eventData, changes)
            ? new InsertOutcome(InsertResult.Debounced, replacement.Job)
            : InsertOutcome.Retry;
    }
}

/// <summary>Many new jobs in a transaction of their own, so they are stored together or not at all; each sees the ones before it.</summary>
internal sealed class InsertJobsOp(IReadOnlyList<JobInsert> jobs) : WriteOp<IReadOnlyList<InsertOutcome>>
{
    private readonly Func<SqliteWriteSession, List<CommittedChange>, InsertOutcome>[] _inserts = [.. jobs.Select(Step)];

    public override bool IsBulk => true;

    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes) =>
        Result = [.. _inserts.Select(insert => insert(session, changes))];

    private static Func<SqliteWriteSession, List<CommittedChange>, InsertOutcome> Step(JobInsert job)
    {
        if (job.Unique is not null)
        {
            return new InsertUniqueJobOp(job).Insert;
        }

        var plain = new InsertJobOp(job.Job, job.Created);
        return (session, changes) => plain.Insert(session, changes) ? new InsertOutcome(InsertResult.Created, job.Job) : InsertOutcome.IdTaken;
    }
}

internal sealed class ReplaceJobOp(JobReplacement replacement) : WriteOp<bool>
{
    private readonly object[] _values = JobColumns.ToStateValues(replacement.Job, replacement.LabelsChanged);
    private readonly object[] _eventData = replacement.Events.Select(EventData).ToArray();

    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        Result = Apply(session, replacement, _values, _eventData, changes);
    }

    /// <summary>Stores one compare-and-set change with its labels and events; false when the version moved on.</summary>
    public static bool Apply(SqliteWriteSession session, JobReplacement replacement, object[] values, object[] eventData, List<CommittedChange> changes)
    {
        var job = replacement.Job;
        if (!session.UpdateJob(job.Id, values, replacement.ExpectedVersion, replacement.LabelsChanged))
        {
            return false;
        }

        if (replacement.InputChanged)
        {
            session.Execute(InputSql.Set(SqliteDialect.Instance, job.Id, JobColumns.Json(job.Input)));
        }

        if (replacement.LabelsChanged)
        {
            session.DeleteLabels(job.Id);
            session.InsertLabels(job.Id, job.Labels, TimeMicros.From(job.CreatedAt));
        }

        var events = new JobEvent[replacement.Events.Count];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = session.InsertEvent(replacement.Events[i], eventData[i], job.Status);
        }

        changes.Add(new CommittedChange(job.Id, job, events));
        return true;
    }
}

/// <summary>
/// Picks due queued jobs and claims them inside the writer's transaction, so no other write can claim
/// the same job in between. The claim function (the rules) comes from Core and runs here, on the writer.
/// </summary>
internal sealed class ClaimJobsOp(ClaimRequest request, Func<Job, JobReplacement> claim, QueueFlowState flow) : WriteOp<IReadOnlyList<Job>>
{
    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        var now = TimeMicros.From(request.Now);
        var snapshot = flow.Current;
        var flowQueues = FlowClaim.QueuesOf(request, snapshot);
        var candidates = new List<Job>(request.Max);
        var walks = 0;
        bool? othersQueued = null;
        foreach (var (type, queue, take) in ClaimOrder.Walks(request, snapshot.HoldingBackNames))
        {
            if (queue is null && snapshot.HoldingBack.Count > 0)
            {
                // A type walk passes over the flow-controlled queues, which are walked under their limits below; it is worth
                // it only when another queue holds queued jobs at all.
                othersQueued ??= session.Query(QueueFlowSql.OthersQueued(SqliteDialect.Instance, snapshot.HoldingBackNames), r => r.GetInt64(0) != 0)[0];
                if (othersQueued.Value)
                {
                    candidates.AddRange(session.Query(
                        QueueFlowSql.TypeOutside(SqliteDialect.Instance, type!, snapshot.HoldingBackNames, now, take, gated: false), JobColumns.Read));
                }
            }
            else
            {
                session.SelectClaimable(type, queue, now, take, candidates);
            }

            walks++;
        }

        if (walks > 1)
        {
            candidates.Sort(ClaimOrder.Compare);
        }

        var taken = new Dictionary<string, int>(StringComparer.Ordinal);
        if (walks > request.Types.Count && request.Types.Count > 0)
        {
            // A type walked in several queues: its limit holds over all of them.
            candidates.RemoveAll(job => !ClaimOrder.Allows(request, taken, job));
        }
        else
        {
            foreach (var job in candidates.Take(request.Max))
            {
                taken[job.Type] = taken.GetValueOrDefault(job.Type) + 1;
            }
        }

        if (candidates.Count > request.Max)
        {
            candidates.RemoveRange(request.Max, candidates.Count - request.Max);
        }

        if (flowQueues.Count > 0 && candidates.Count < request.Max)
        {
            var skip = candidates.Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
            candidates.AddRange(SqliteFlowSession.Done(FlowClaim.PickAsync(new SqliteFlowSession(session), request, flowQueues, candidates.Count, taken, skip,
                CancellationToken.None)));
        }

        var claimed = new Job[candidates.Count];
        for (var i = 0; i < candidates.Count; i++)
        {
            var replacement = claim(candidates[i]);
            var values = JobColumns.ToStateValues(replacement.Job, replacement.LabelsChanged);
            var eventData = replacement.Events.Select(EventData).ToArray();
            if (!ReplaceJobOp.Apply(session, replacement, values, eventData, changes))
            {
                throw new InvalidOperationException($"Job '{replacement.Job.Id}' changed inside the claiming transaction.");
            }

            claimed[i] = replacement.Job;
        }

        Result = claimed;
    }
}

/// <summary>
/// Stores a queue's settings compare-and-set and, when its partition changed, moves its unfinished jobs into the new
/// partitions; the store's settings in memory change with it, on the writer, so the next claim sees them.
/// </summary>
internal sealed class SaveQueueSettingsOp(QueueSettings? current, QueueSettings settings, QueueFlowState flow) : WriteOp<bool>
{
    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        Result = session.Query(QueueRows.Save(SqliteDialect.Instance, settings, current?.Version ?? 0), r => r.GetString(0)).Count == 1;
        if (!Result)
        {
            return;
        }

        if (current?.Partition?.Key != settings.Partition?.Key)
        {
            session.Execute(QueueRows.Repartition(SqliteDialect.Instance, settings.Name));
        }

        var before = flow.Current;
        flow.Set(new QueueFlowSnapshot([.. before.All.Values.Where(q => q.Name != settings.Name), settings], before.Epoch + 1));
    }
}

internal sealed class SaveScheduleOp(Schedule? current, Schedule next) : WriteOp<bool>
{
    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes) =>
        Result = session.Query(Relational.Schedules.ScheduleRows.Save(SqliteDialect.Instance, next, current?.Version ?? 0), r => r.GetString(0)).Count == 1;
}

internal sealed class DeleteScheduleOp(string name) : WriteOp<bool>
{
    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes) =>
        Result = session.Query(Relational.Schedules.ScheduleRows.Delete(SqliteDialect.Instance, name), r => r.GetString(0)).Count == 1;
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

internal sealed class DeleteTerminalJobsOp(IReadOnlyCollection<string> ids, long cutoffMicros) : WriteOp<IReadOnlyList<string>>
{
    public override bool IsBulk => true;

    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        var deleted = new List<string>(ids.Count);
        foreach (var id in ids)
        {
            if (session.DeleteTerminalJob(id, cutoffMicros))
            {
                deleted.Add(id);
                changes.Add(new CommittedChange(id, null, []));
            }
        }

        Result = deleted;
    }
}

/// <summary>Records the job types that handlers or workers run; rare (about once a minute per type), so not prepared.</summary>
internal sealed class RecordRunnersOp(IReadOnlyList<(string Type, long SeenMicros)> seen) : WriteOp<bool>
{
    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        foreach (var (type, seenMicros) in seen)
        {
            session.RecordRunner(type, seenMicros);
        }

        Result = true;
    }
}

/// <summary>Stores what this instance saw of its workers (every few seconds, a handful of rows), and forgets old rows.</summary>
internal sealed class RecordWorkersOp(IReadOnlyList<WorkerSeen> rows, DateTimeOffset forgetBefore) : WriteOp<bool>
{
    public override void Execute(SqliteWriteSession session, List<CommittedChange> changes)
    {
        foreach (var row in rows)
        {
            session.Execute(WorkerSql.Upsert(SqliteDialect.Instance, row));
        }

        session.Execute(WorkerSql.Forget(SqliteDialect.Instance, forgetBefore));
        Result = true;
    }
}
