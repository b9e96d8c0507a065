using Jobkeeper.Model;
using Jobkeeper.Relational;
using Jobkeeper.Relational.Queues;
using Jobkeeper.Storage;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// A write the PostgreSQL committer runs. In a transaction it first lets claims pick their jobs (<see cref="AddSelects"/>),
/// then sends every op's row writes in one round trip (<see cref="AddRowWrites"/>), then each op reports what it changed
/// (<see cref="Written"/>), and the events, labels and notice go with the COMMIT in a second round trip.
/// </summary>
internal interface IPostgresWriteOp : IGroupCommitWrite
{
    /// <summary>
    /// Adds the statements whose rows this op reads before anything is written (claims pick their jobs here);
    /// <paramref name="claimsInBatch"/> claims of this transaction read at once.
    /// </summary>
    void AddSelects(NpgsqlBatch batch, int claimsInBatch);

    bool IsClaim { get; }

    /// <summary>The unique keys this op checks: the committer locks them before any select runs.</summary>
    IEnumerable<string> UniqueKeys { get; }

    /// <summary>Reads the result sets of <see cref="AddSelects"/>; the reader is on the first of them.</summary>
    Task ReadSelectsAsync(PostgresSelectResults results, PostgresTransaction transaction, CancellationToken cancellationToken);

    void AddRowWrites(PostgresRowWrites rows);

    /// <summary>After the row writes ran: records what was written into <paramref name="commit"/>.</summary>
    void Written(PostgresCommit commit);
}

/// <summary>A write whose values are prepared on the caller's thread; it selects nothing unless it says so.</summary>
internal abstract class PostgresWriteOp<T> : GroupCommitWrite<T>, IPostgresWriteOp
{
    public virtual void AddSelects(NpgsqlBatch batch, int claimsInBatch)
    {
    }

    public virtual bool IsClaim => false;

    public virtual IEnumerable<string> UniqueKeys => [];

    public virtual Task ReadSelectsAsync(PostgresSelectResults results, PostgresTransaction transaction, CancellationToken cancellationToken) =>
        System.Threading.Tasks.Task.CompletedTask;

    public abstract void AddRowWrites(PostgresRowWrites rows);

    public abstract void Written(PostgresCommit commit);

    /// <summary>The compare-and-set update of one job: it changes the row only while it is still at the expected version.</summary>
    protected static int AddUpdate(PostgresRowWrites rows, JobReplacement replacement, object[] valuesWithLabels) =>
        rows.Update(replacement.Job.Id, replacement.ExpectedVersion, replacement.LabelsChanged ? valuesWithLabels[0] : null, valuesWithLabels[1..],
            // In the compare-and-set statement itself: only the change that wins writes its input.
            replacement.InputChanged ? JobColumns.Json(replacement.Job.Input) : null);
}

internal sealed class PostgresInsertOp(Job job, JobEvent created, IReadOnlyList<JobEvent>? later = null) : PostgresWriteOp<bool>
{
    private readonly object[] _values = JobColumns.ToInsertValues(job);
    private int _insert;

    public override void AddRowWrites(PostgresRowWrites rows) => _insert = rows.Insert(_values);

    public override void Written(PostgresCommit commit) => Result = Insert(commit);

    /// <summary>Whether the row was stored (false when the id is taken); a stored job's event and labels go with the commit.</summary>
    public bool Insert(PostgresCommit commit)
    {
        var inserted = commit.Rows.Inserted(_insert);
        if (inserted)
        {
            commit.Written(job, later is null ? [created] : [created, .. later], isNew: true, labelsChanged: false);
        }

        return inserted;
    }
}

/// <summary>
/// Many new jobs in a transaction of their own, so they are stored together or not at all; their rows go in the same
/// multi-row statement as any insert (one round trip for the rows, one for events, labels and the commit). Jobs with a
/// unique key check it as <see cref="PostgresUniqueInsertOp"/> does, seeing the ones before them in the batch.
/// </summary>
internal sealed class PostgresInsertManyOp(IReadOnlyList<JobInsert> jobs) : PostgresWriteOp<IReadOnlyList<InsertOutcome>>
{
    private readonly PostgresInsertOp?[] _plain = [.. jobs.Select(j => j.Unique is null ? new PostgresInsertOp(j.Job, j.Created) : null)];
    private readonly PostgresUniqueInsertOp?[] _unique = [.. jobs.Select(j => j.Unique is null ? null : new PostgresUniqueInsertOp(j))];

    public override bool IsBulk => true;

    public override IEnumerable<string> UniqueKeys => _unique.OfType<PostgresUniqueInsertOp>().SelectMany(u => u.UniqueKeys);

    public override void AddSelects(NpgsqlBatch batch, int claimsInBatch)
    {
        foreach (var unique in _unique.OfType<PostgresUniqueInsertOp>())
        {
            unique.AddSelects(batch, claimsInBatch);
        }
    }

    public override async Task ReadSelectsAsync(PostgresSelectResults results, PostgresTransaction transaction, CancellationToken cancellationToken)
    {
        foreach (var unique in _unique.OfType<PostgresUniqueInsertOp>())
        {
            await unique.ReadSelectsAsync(results, transaction, cancellationToken).ConfigureAwait(false);
        }
    }

    public override void AddRowWrites(PostgresRowWrites rows)
    {
        for (var i = 0; i < jobs.Count; i++)
        {
            if (_plain[i] is { } plain)
            {
                plain.AddRowWrites(rows);
            }
            else
            {
                _unique[i]!.AddRowWrites(rows);
            }
        }
    }

    public override void Written(PostgresCommit commit)
    {
        var outcomes = new InsertOutcome[jobs.Count];
        for (var i = 0; i < jobs.Count; i++)
        {
            if (_plain[i] is { } plain)
            {
                outcomes[i] = plain.Insert(commit) ? new InsertOutcome(InsertResult.Created, jobs[i].Job) : InsertOutcome.IdTaken;
            }
            else
            {
                _unique[i]!.Written(commit);
                outcomes[i] = _unique[i]!.Outcome;
            }
        }

        Result = outcomes;
    }
}

internal sealed class PostgresReplaceOp(JobReplacement replacement) : PostgresWriteOp<bool>
{
    private readonly object[] _values = JobColumns.ToStateValues(replacement.Job, withLabels: true);
    private int _update;

    public override void AddRowWrites(PostgresRowWrites rows) => _update = AddUpdate(rows, replacement, _values);

    public override void Written(PostgresCommit commit)
    {
        Result = commit.Rows.Updated(_update);
        if (Result)
        {
            commit.Written(replacement.Job, replacement.Events, isNew: false, replacement.LabelsChanged);
        }
    }
}

/// <summary>
/// Picks due queued jobs with <c>FOR NO KEY UPDATE SKIP LOCKED</c> inside the writer's transaction and claims them:
/// another instance's claim skips the rows this one locked, so no job is handed to two claims.
/// </summary>
internal sealed class PostgresClaimOp(ClaimRequest request, Func<Job, JobReplacement> claim, QueueFlowState flow) : PostgresWriteOp<IReadOnlyList<Job>>
{
    private readonly List<(JobReplacement Replacement, object[] Values, int Handle)> _claims = [];
    private readonly Dictionary<string, int> _taken = new(StringComparer.Ordinal);

    private int _selects;

    public override bool IsClaim => true;

    /// <summary>The flow-controlled queues this claim walks under their locks (<see cref="FlowAsync"/>), as of its selects.</summary>
    public IReadOnlyList<QueueSettings> FlowQueues { get; private set; } = [];

    /// <summary>The epoch of the settings this claim's selects were built from: checked against the database's in the same round trip.</summary>
    public long Epoch { get; private set; } = -1;

    public override void AddSelects(NpgsqlBatch batch, int claimsInBatch)
    {
        _claims.Clear();
        _taken.Clear();
        _selects = 0;
        var snapshot = flow.Current;
        Epoch = snapshot.Epoch;
        FlowQueues = FlowClaim.QueuesOf(request, snapshot);
        var now = TimeMicros.From(request.Now);
        foreach (var (type, queue, take) in ClaimOrder.Walks(request, snapshot.HoldingBackNames))
        {
            // The claims of one transaction all see the same rows (its own locks skip nothing), so each reads
            // enough to still find its share after the claims before it took theirs.
            var rows = Math.Min(take * claimsInBatch, 5000);
            batch.BatchCommands.Add(type is null
                ? PostgresCommit.Command(PostgresJobSql.SelectClaimableOfQueue, queue!, now, rows)
                : queue is not null
                    ? PostgresCommit.Command(PostgresJobSql.SelectClaimableInQueue, type, now, rows, queue)
                    : snapshot.HoldingBack.Count == 0
                        ? PostgresCommit.Command(PostgresJobSql.SelectClaimable, type, now, rows)
                        : PostgresFlowLocks.Command(QueueFlowSql.TypeOutside(PostgresDialect.Instance, type, snapshot.HoldingBackNames, now, rows, gated: true)));
            _selects++;
        }
    }

    public override async Task ReadSelectsAsync(PostgresSelectResults results, PostgresTransaction transaction, CancellationToken cancellationToken)
    {
        var candidates = new List<Job>(request.Max);
        for (var i = 0; i < _selects; i++)
        {
            var reader = await results.NextAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var job = JobColumns.Read(reader);
                // Locks taken by this same transaction do not skip rows: another claim of this batch may have them.
                if (!transaction.ClaimedIds.Contains(job.Id))
                {
                    candidates.Add(job);
                }
            }
        }

        if (_selects > 1)
        {
            candidates.Sort(ClaimOrder.Compare);
        }

        foreach (var job in candidates)
        {
            if (_claims.Count == request.Max)
            {
                break;
            }

            if (!transaction.ClaimedIds.Contains(job.Id) && ClaimOrder.Allows(request, _taken, job) && transaction.ClaimedIds.Add(job.Id))
            {
                Claim(job);
            }
        }
    }

    /// <summary>Fills what is left of the claim from its flow-controlled queues, under their locks (taken by the committer).</summary>
    public async Task FlowAsync(PostgresFlowSession session, PostgresTransaction transaction, CancellationToken cancellationToken)
    {
        if (_claims.Count >= request.Max)
        {
            return;
        }

        foreach (var job in await FlowClaim.PickAsync(session, request, FlowQueues, _claims.Count, _taken, transaction.ClaimedIds, cancellationToken,
            transaction.FlowPending).ConfigureAwait(false))
        {
            Claim(job);
        }
    }

    private void Claim(Job job)
    {
        var replacement = claim(job);
        _claims.Add((replacement, JobColumns.ToStateValues(replacement.Job, withLabels: true), -1));
    }

    public override void AddRowWrites(PostgresRowWrites rows)
    {
        for (var i = 0; i < _claims.Count; i++)
        {
            var (replacement, values, _) = _claims[i];
            _claims[i] = (replacement, values, AddUpdate(rows, replacement, values));
        }
    }

    public override void Written(PostgresCommit commit)
    {
        var claimed = new List<Job>(_claims.Count);
        foreach (var (replacement, _, handle) in _claims)
        {
            // Only a write earlier in this same transaction can have moved a locked row on; that job is simply not claimed.
            if (commit.Rows.Updated(handle))
            {
                commit.Written(replacement.Job, replacement.Events, isNew: false, replacement.LabelsChanged);
                claimed.Add(replacement.Job);
            }
        }

        Result = claimed;
    }
}

/// <summary>Deletes run alone in their transaction, with their labels and events, through one statement that returns the ids deleted.</summary>
internal abstract class PostgresDeleteOp<T> : PostgresWriteOp<T>
{
    private readonly List<string> _deleted = [];

    public override bool IsBulk => true;

    protected abstract NpgsqlBatchCommand Statement();

    protected abstract T ToResult(List<string> deleted);

    public override void AddSelects(NpgsqlBatch batch, int claimsInBatch)
    {
        _deleted.Clear();
        batch.BatchCommands.Add(Statement());
    }

    /// <summary>The delete itself returns the ids deleted, so it runs with the selects.</summary>
    public override async Task ReadSelectsAsync(PostgresSelectResults results, PostgresTransaction transaction, CancellationToken cancellationToken)
    {
        var reader = await results.NextAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _deleted.Add(reader.GetString(0));
        }
    }

    public override void AddRowWrites(PostgresRowWrites rows)
    {
    }

    public override void Written(PostgresCommit commit)
    {
        foreach (var id in _deleted)
        {
            commit.Deleted(id);
        }

        Result = ToResult(_deleted);
    }
}

internal sealed class PostgresDeleteJobOp(string id) : PostgresDeleteOp<bool>
{
    protected override NpgsqlBatchCommand Statement() => PostgresCommit.Command(PostgresJobSql.DeleteJob, id);

    protected override bool ToResult(List<string> deleted) => deleted.Count == 1;
}

internal sealed class PostgresDeleteTerminalOp(long cutoffMicros, int batchSize) : PostgresDeleteOp<IReadOnlyList<string>>
{
    protected override NpgsqlBatchCommand Statement() => PostgresCommit.Command(PostgresJobSql.DeleteTerminalBatch, cutoffMicros, batchSize);

    protected override IReadOnlyList<string> ToResult(List<string> deleted) => deleted.ToArray();
}

internal sealed class PostgresDeleteTerminalIdsOp(string[] ids, long cutoffMicros) : PostgresDeleteOp<IReadOnlyList<string>>
{
    protected override NpgsqlBatchCommand Statement() => PostgresCommit.Command(PostgresJobSql.DeleteTerminalIds, ids, cutoffMicros);

    protected override IReadOnlyList<string> ToResult(List<string> deleted) => deleted.ToArray();
}
