using Jobkeeper.Model;
using Jobkeeper.Storage;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// One write waiting for the writer. Its values are prepared on the caller's thread. In a transaction the
/// writer first lets claims pick their jobs (<see cref="SelectAsync"/>), then sends every op's row writes in one
/// round trip (<see cref="AddRowWrites"/>), then each op reports what it changed (<see cref="Written"/>), and the
/// events, labels and notice go with the COMMIT in a second round trip.
/// </summary>
internal abstract class PostgresWriteOp
{
    /// <summary>A write committed in a transaction of its own (deletes: they never share a batch with a write of the same job).</summary>
    public virtual bool IsBulk => false;

    public virtual bool Selects => false;

    public virtual Task SelectAsync(PostgresTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    public abstract void AddRowWrites(NpgsqlBatch batch);

    /// <summary>After the row writes ran: records what was written into <paramref name="commit"/>.</summary>
    public abstract void Written(PostgresCommit commit);

    public abstract void Complete();

    public abstract void Fail(Exception error);

    protected static NpgsqlBatchCommand Add(NpgsqlBatch batch, string sql, object[] values, params object[] more)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(PostgresCommit.Parameter(value));
        }

        foreach (var value in more)
        {
            command.Parameters.Add(PostgresCommit.Parameter(value));
        }

        batch.BatchCommands.Add(command);
        return command;
    }
}

internal abstract class PostgresWriteOp<T> : PostgresWriteOp
{
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _completion.Task;

    protected T Result { get; set; } = default!;

    public override void Complete() => _completion.TrySetResult(Result);

    public override void Fail(Exception error) => _completion.TrySetException(error);
}

internal sealed class PostgresInsertOp(Job job, JobEvent created) : PostgresWriteOp<bool>
{
    private readonly object[] _values = JobColumns.ToInsertValues(job);
    private NpgsqlBatchCommand? _insert;

    public override void AddRowWrites(NpgsqlBatch batch) => _insert = Add(batch, PostgresJobSql.InsertJob, _values);

    public override void Written(PostgresCommit commit)
    {
        Result = _insert!.RecordsAffected == 1;
        if (Result)
        {
            commit.Written(job, [created], isNew: true, labelsChanged: false);
        }
    }
}

internal sealed class PostgresReplaceOp(JobReplacement replacement) : PostgresWriteOp<bool>
{
    private readonly object[] _values = JobColumns.ToStateValues(replacement.Job, replacement.LabelsChanged);
    private NpgsqlBatchCommand? _update;

    public override void AddRowWrites(NpgsqlBatch batch) => _update = AddUpdate(batch, replacement, _values);

    public override void Written(PostgresCommit commit)
    {
        Result = _update!.RecordsAffected == 1;
        if (Result)
        {
            commit.Written(replacement.Job, replacement.Events, isNew: false, replacement.LabelsChanged);
        }
    }

    /// <summary>The compare-and-set update of one job: it changes a row only while it is still at the expected version.</summary>
    public static NpgsqlBatchCommand AddUpdate(NpgsqlBatch batch, JobReplacement replacement, object[] values) =>
        Add(batch, replacement.LabelsChanged ? PostgresJobSql.UpdateJobAndLabels : PostgresJobSql.UpdateJob, values,
            replacement.Job.Id, replacement.ExpectedVersion);
}

/// <summary>
/// Picks due queued jobs with <c>FOR UPDATE SKIP LOCKED</c> inside the writer's transaction and claims them:
/// another instance's claim skips the rows this one locked, so no job is handed to two claims.
/// </summary>
internal sealed class PostgresClaimOp(ClaimRequest request, Func<Job, JobReplacement> claim) : PostgresWriteOp<IReadOnlyList<Job>>
{
    private static readonly Comparison<Job> ClaimOrder = (a, b) =>
    {
        var byPriority = b.Priority.CompareTo(a.Priority);
        if (byPriority != 0)
        {
            return byPriority;
        }

        var byRunAt = a.RunAt.CompareTo(b.RunAt);
        return byRunAt != 0 ? byRunAt : string.CompareOrdinal(a.Id, b.Id);
    };

    private readonly List<(JobReplacement Replacement, object[] Values, NpgsqlBatchCommand? Command)> _claims = [];

    public override bool Selects => true;

    public override async Task SelectAsync(PostgresTransaction transaction, CancellationToken cancellationToken)
    {
        _claims.Clear();
        var now = TimeMicros.From(request.Now);
        var taken = transaction.ClaimedIds.ToArray();
        await using var batch = transaction.NewBatch();
        foreach (var (type, limit) in request.Types)
        {
            var take = Math.Min(limit, request.Max);
            if (take > 0)
            {
                batch.BatchCommands.Add(PostgresCommit.Command(PostgresJobSql.SelectClaimable, type, now, taken, take));
            }
        }

        var candidates = new List<Job>(request.Max);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            do
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    candidates.Add(JobColumns.Read(reader));
                }
            }
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
        }

        if (request.Types.Count > 1)
        {
            candidates.Sort(ClaimOrder);
        }

        foreach (var job in candidates.Take(request.Max))
        {
            var replacement = claim(job);
            _claims.Add((replacement, JobColumns.ToStateValues(replacement.Job, replacement.LabelsChanged), null));
            transaction.ClaimedIds.Add(job.Id);
        }
    }

    public override void AddRowWrites(NpgsqlBatch batch)
    {
        for (var i = 0; i < _claims.Count; i++)
        {
            var (replacement, values, _) = _claims[i];
            _claims[i] = (replacement, values, PostgresReplaceOp.AddUpdate(batch, replacement, values));
        }
    }

    public override void Written(PostgresCommit commit)
    {
        var claimed = new List<Job>(_claims.Count);
        foreach (var (replacement, _, command) in _claims)
        {
            // Only a write earlier in this same transaction can have moved a locked row on; that job is simply not claimed.
            if (command!.RecordsAffected == 1)
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
    private NpgsqlBatchCommand? _delete;
    private readonly List<string> _deleted = [];

    public override bool IsBulk => true;

    // The ids come back as rows, so the writer reads them through Selects.
    public override bool Selects => true;

    protected abstract NpgsqlBatchCommand Statement();

    protected abstract T ToResult(List<string> deleted);

    public override async Task SelectAsync(PostgresTransaction transaction, CancellationToken cancellationToken)
    {
        _deleted.Clear();
        await using var batch = transaction.NewBatch();
        _delete = Statement();
        batch.BatchCommands.Add(_delete);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _deleted.Add(reader.GetString(0));
        }
    }

    public override void AddRowWrites(NpgsqlBatch batch)
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
