using Jobkeeper.Model;
using Jobkeeper.Relational;
using Jobkeeper.Storage;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// A new job with a unique key. The committer takes the key's advisory lock at the start of the transaction (every key of the
/// transaction in one statement, in lock order), so the check below and the insert after it are atomic against every other
/// writer connection and instance. The check cannot see what earlier ops of the same transaction will write (their rows are
/// written after every select): those are kept in <see cref="PostgresTransaction.UniqueWrites"/> and count as candidates too.
/// </summary>
internal sealed class PostgresUniqueInsertOp(JobInsert insert) : PostgresWriteOp<InsertOutcome>
{
    private readonly List<JobEvent> _folded = [];
    private PostgresInsertOp? _insert;
    private Job? _insertedJob;
    private readonly JobUniqueness _unique = insert.Unique ?? throw new ArgumentException("A unique insert needs its uniqueness.", nameof(insert));
    private Decision _decision = Decision.Undecided;
    private UniqueWrite? _write;
    private UniqueWrite? _dependsOn;
    private JobReplacement? _replacement;
    private object[]? _replacementValues;
    private int _update;
    private Job? _existing;

    private enum Decision { Undecided, Insert, Existing, Debounce, FoldedIntoInsert, Retry }

    public override IEnumerable<string> UniqueKeys => [_unique.Key];

    /// <summary>What it did, once <see cref="Written"/> ran (for a batch that holds it).</summary>
    public InsertOutcome Outcome => Result;

    // No row lock for a debounce: waiting for one while the transaction holds others could deadlock with a claim. Under the
    // key's lock, its compare-and-set update loses to a claim that got there first, and the create is asked again.
    public override void AddSelects(NpgsqlBatch batch, int claimsInBatch) =>
        batch.BatchCommands.Add(PostgresFlowLocks.Command(UniqueSql.Blocking(PostgresDialect.Instance, _unique)));

    public override async Task ReadSelectsAsync(PostgresSelectResults results, PostgresTransaction transaction, CancellationToken cancellationToken)
    {
        var reader = await results.NextAsync(cancellationToken).ConfigureAwait(false);
        Job? found = null;
        if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found = JobColumns.Read(reader);
        }

        Decide(found, transaction);
    }

    private void Decide(Job? found, PostgresTransaction transaction)
    {
        _write = null;
        _dependsOn = null;
        _replacement = null;
        _folded.Clear();
        var writes = transaction.UniqueWrites(_unique.Key);
        // What earlier ops of this transaction write is newer than what the select saw.
        UniqueWrite? blocking = null;
        Job? blockingJob = found is not null && writes.All(w => w.Job.Id != found.Id) && _unique.Blocks(found) ? found : null;
        foreach (var write in writes)
        {
            if (_unique.Blocks(write.Job) && (blockingJob is null || Newer(write.Job, blockingJob)))
            {
                blocking = write;
                blockingJob = write.Job;
            }
        }

        if (blockingJob is null)
        {
            _decision = Decision.Insert;
            _insertedJob = insert.Job;
            _insert = new PostgresInsertOp(insert.Job, insert.Created);
            _write = new UniqueWrite(insert.Job, this);
            writes.Add(_write);
            return;
        }

        if (_unique.Debounce is null)
        {
            _decision = Decision.Existing;
            _dependsOn = blocking;
            _existing = blockingJob;
            return;
        }

        if (blocking is { Inserter: null })
        {
            // An earlier debounce of this transaction changes the job, and may lose its compare-and-set to a claim: a second
            // change on top of it could then land on the claimed job. Asked again, it sees what won.
            _decision = Decision.Retry;
            return;
        }

        _replacement = _unique.Debounce(blockingJob);
        if (blocking?.Inserter is { } inserter)
        {
            // The job to debounce is one this transaction inserts: it is inserted as debounced, with both events.
            _decision = Decision.FoldedIntoInsert;
            _dependsOn = blocking;
            inserter.Fold(_replacement);
            blocking.Job = _replacement.Job;
            return;
        }

        // Found by this op's own select: its compare-and-set update lands unless a claim changed the job meanwhile.
        _decision = Decision.Debounce;
        _replacementValues = JobColumns.ToStateValues(_replacement.Job, withLabels: true);
        _write = new UniqueWrite(_replacement.Job, null);
        writes.Add(_write);
    }

    /// <summary>A later op's debounce of the job this op inserts: the insert stores the debounced job and its event.</summary>
    private void Fold(JobReplacement debounce)
    {
        _folded.AddRange(debounce.Events);
        _insertedJob = debounce.Job;
        _insert = new PostgresInsertOp(debounce.Job, insert.Created, [.. _folded]);
    }

    private static bool Newer(Job a, Job b) => a.CreatedAt != b.CreatedAt ? a.CreatedAt > b.CreatedAt : string.CompareOrdinal(a.Id, b.Id) > 0;

    public override void AddRowWrites(PostgresRowWrites rows)
    {
        switch (_decision)
        {
            case Decision.Insert:
                _insert!.AddRowWrites(rows);
                break;
            case Decision.Debounce:
                _update = AddUpdate(rows, _replacement!, _replacementValues!);
                break;
        }
    }

    public override void Written(PostgresCommit commit)
    {
        switch (_decision)
        {
            case Decision.Insert:
                _write!.Landed = _insert!.Insert(commit);
                Result = _write.Landed ? new InsertOutcome(InsertResult.Created, _insertedJob) : InsertOutcome.IdTaken;
                break;
            case Decision.Existing:
                Result = _dependsOn is null || _dependsOn.Landed ? new InsertOutcome(InsertResult.Existing, _existing) : InsertOutcome.Retry;
                break;
            case Decision.FoldedIntoInsert:
                Result = _dependsOn!.Landed ? new InsertOutcome(InsertResult.Debounced, _replacement!.Job) : InsertOutcome.Retry;
                break;
            case Decision.Debounce:
                var updated = commit.Rows.Updated(_update);
                _write!.Landed = updated;
                if (updated)
                {
                    commit.Written(_replacement!.Job, _replacement.Events, isNew: false, _replacement.LabelsChanged);
                }

                Result = updated ? new InsertOutcome(InsertResult.Debounced, _replacement!.Job) : InsertOutcome.Retry;
                break;
            default:
                Result = InsertOutcome.Retry;
                break;
        }
    }
}

/// <summary>
/// A job with a unique key that ops of the transaction write (as it stands after the latest of them): what later ops with the
/// key must see. <see cref="Inserter"/> is the op that inserts it, null when it exists already and is being changed.
/// </summary>
internal sealed class UniqueWrite(Job job, PostgresUniqueInsertOp? inserter)
{
    public Job Job { get; set; } = job;

    public PostgresUniqueInsertOp? Inserter { get; } = inserter;

    /// <summary>Set when the op learns whether its row was written (ops learn it in their order, so before any later op asks).</summary>
    public bool Landed { get; set; }
}
