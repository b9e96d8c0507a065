using System.Diagnostics;
using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Jobkeeper.Telemetry;

namespace Jobkeeper;

public sealed partial class JobManager
{
    /// <summary>
    /// How often a create asks the store again when its answer depended on a write that did not land. On PostgreSQL, of the
    /// debounces of one key in one transaction only the first applies and the others ask again: under a burst each round lets
    /// at least one through per instance, so this bounds a burst of that many.
    /// </summary>
    private const int MaxInsertRetries = 256;

    private static readonly JobStatus[] Unfinished = [.. JobStatusNames.All.Where(s => !s.IsTerminal())];

    /// <summary>
    /// Creates a job in <c>queued</c>, its <c>created</c> event by <paramref name="actor"/>. Throws <see cref="DuplicateJobException"/>
    /// when the id is taken. With a <see cref="NewJob.UniqueKey"/> that an existing job blocks, it returns that job instead, with
    /// <see cref="Job.Existing"/> true (changed by <see cref="NewJob.DebounceSeconds"/> when given): nothing is added.
    /// </summary>
    public async Task<Job> CreateAsync(NewJob request, JobActor? actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        JobValidator.ValidateNew(request);
        // Started first: the job keeps the context of this span (or of the caller's), and every later span about it joins that trace.
        using var activity = JobkeeperTelemetry.Source.StartActivity("jobkeeper.job.create", ActivityKind.Producer);
        var now = Now();
        var by = By(actor);
        var insert = NewInsert(request, now, by);
        activity?.SetTag("jobkeeper.job.id", insert.Job.Id);
        activity?.SetTag("jobkeeper.job.type", insert.Job.Type);

        if (insert.Unique is null)
        {
            if (!await _store.InsertAsync(insert.Job, insert.Created, cancellationToken).ConfigureAwait(false))
            {
                throw new DuplicateJobException(insert.Job.Id);
            }

            _instruments.RecordCreated(insert.Job);
            return insert.Job;
        }

        for (var attempt = 0; ; attempt++)
        {
            var outcome = await _store.InsertUniqueAsync(insert, cancellationToken).ConfigureAwait(false);
            if (outcome.Result != InsertResult.Retry || attempt == MaxInsertRetries)
            {
                activity?.SetTag("jobkeeper.job.create.outcome", outcome.Result.ToString().ToLowerInvariant());
                return Answer(outcome, insert.Job.Id);
            }
        }
    }

    /// <summary>
    /// Creates up to <see cref="JobLimits.MaxBatchCreate"/> jobs in <c>queued</c>, in one store transaction. Each is answered
    /// on its own, in order: created; existing (a job with its unique key blocked it: that job); a duplicate id (taken, or
    /// given earlier in the batch); or invalid, naming the field. The valid ones are stored together, or (when the store
    /// fails) none of them. A job with a unique key sees the jobs before it in the batch.
    /// </summary>
    public async Task<IReadOnlyList<BatchCreateItem>> CreateManyAsync(IReadOnlyList<NewJob> requests, JobActor? actor = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count > JobLimits.MaxBatchCreate)
        {
            throw new JobValidationException("jobs", $"may hold at most {JobLimits.MaxBatchCreate} jobs; send the rest in another batch");
        }

        using var activity = JobkeeperTelemetry.Source.StartActivity("jobkeeper.job.create_many", ActivityKind.Producer);
        activity?.SetTag("jobkeeper.batch.size", requests.Count);
        var now = Now();
        var by = By(actor);
        var answers = new BatchCreateItem[requests.Count];
        var rows = new List<JobInsert>(requests.Count);
        var positions = new List<int>(requests.Count);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < requests.Count; i++)
        {
            try
            {
                JobValidator.ValidateNew(requests[i]);
            }
            catch (JobValidationException invalid)
            {
                answers[i] = BatchCreateItem.Invalid($"jobs[{i}].{invalid.Field}", invalid.Problem);
                continue;
            }

            var insert = NewInsert(requests[i], now, by);
            if (!ids.Add(insert.Job.Id))
            {
                answers[i] = BatchCreateItem.DuplicateId(insert.Job.Id);
                continue;
            }

            rows.Add(insert);
            positions.Add(i);
        }

        // Rarely (PostgreSQL, a key used twice in the batch, its first job's id taken, or a debounce of a job the batch creates)
        // an item's answer depends on a write of the same transaction that is only known once it committed: those are asked
        // again, in a transaction of their own right after.
        for (var attempt = 0; rows.Count > 0; attempt++)
        {
            var outcomes = await _store.InsertManyAsync(rows, cancellationToken).ConfigureAwait(false);
            var again = new List<(JobInsert Row, int Position)>();
            for (var k = 0; k < rows.Count; k++)
            {
                if (outcomes[k].Result == InsertResult.Retry && attempt < MaxInsertRetries)
                {
                    again.Add((rows[k], positions[k]));
                    continue;
                }

                answers[positions[k]] = outcomes[k].Result == InsertResult.IdTaken ? BatchCreateItem.DuplicateId(rows[k].Job.Id)
                    : Answer(outcomes[k], rows[k].Job.Id) is { Existing: true } existing ? BatchCreateItem.Existing(existing)
                    : BatchCreateItem.Created(outcomes[k].Job!);
            }

            rows = [.. again.Select(a => a.Row)];
            positions = [.. again.Select(a => a.Position)];
        }

        return answers;
    }

    /// <summary>The store under the manager (a store's own way of creating, such as in the application's transaction, needs it).</summary>
    internal IJobStore Store => _store;

    /// <summary>
    /// A new job, validated and built as <see cref="CreateAsync(NewJob, JobActor?, CancellationToken)"/> builds it, for a store that
    /// writes it in the application's own transaction. Unique keys and debounce are refused there: their lock would be held
    /// for as long as the application's transaction stays open, and would stall the store's own writers meanwhile.
    /// </summary>
    internal JobInsert PrepareEnlisted(NewJob request, JobActor? actor)
    {
        ArgumentNullException.ThrowIfNull(request);
        JobValidator.ValidateNew(request);
        if (request.UniqueKey is not null)
        {
            throw new JobValidationException("unique_key", "is not supported for a job created in the application's transaction; create it with JobManager.CreateAsync");
        }

        return NewInsert(request, Now(), By(actor));
    }

    /// <summary>The job a create answers with, counted; throws for a taken id (and for a create the store could not decide).</summary>
    private Job Answer(InsertOutcome outcome, string id)
    {
        switch (outcome.Result)
        {
            case InsertResult.Created:
                _instruments.RecordCreated(outcome.Job!);
                return outcome.Job!;
            case InsertResult.Existing or InsertResult.Debounced:
                _instruments.RecordExisting(outcome.Job!, outcome.Result == InsertResult.Debounced);
                return outcome.Job! with { Existing = true };
            case InsertResult.IdTaken:
                throw new DuplicateJobException(id);
            default:
                throw new JobStateConflictException($"Jobs with the unique key of job '{id}' are changing too fast to create it; try again.");
        }
    }

    /// <summary>A new job in <c>queued</c>, its <c>created</c> event, and what its unique key asks, as <paramref name="request"/> says.</summary>
    private static JobInsert NewInsert(NewJob request, DateTimeOffset now, JobActor by)
    {
        var runAt = request.RunAt is { } at ? TimeMicros.Truncate(at.ToUniversalTime()) : now;
        if (request.DebounceSeconds is { } debounce && now + TimeSpan.FromSeconds(debounce) is var settled && settled > runAt)
        {
            runAt = TimeMicros.Truncate(settled);
        }

        var job = new Job
        {
            Id = request.Id ?? JobIds.NewId(now),
            Type = request.Type,
            Queue = request.Queue ?? JobQueues.Default,
            Status = JobStatus.Queued,
            Priority = request.Priority,
            Input = request.Input is { ValueKind: not System.Text.Json.JsonValueKind.Null } input ? input : null,
            Labels = request.Labels is { Count: > 0 } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : Job.EmptyLabels,
            Attempt = 1,
            MaxAttempts = request.MaxAttempts ?? 3,
            CreatedAt = now,
            UpdatedAt = now,
            RunAt = runAt,
            Version = 1,
            Traceparent = JobTrace.Capture(),
            UniqueKey = request.UniqueKey,
        };
        var created = JobPatchApplier.Event(job.Id, JobEventTypes.Created, now, by.Name, job.Version, null) with { DisplayName = by.DisplayName, Reason = by.Reason };
        return new JobInsert(job, created) { Unique = Uniqueness(request, job, now, by) };
    }

    /// <summary>Which existing job blocks this one (null without a key): a debounce folds into the key's queued job.</summary>
    private static JobUniqueness? Uniqueness(NewJob request, Job job, DateTimeOffset now, JobActor by)
    {
        if (request.UniqueKey is not { } key)
        {
            return null;
        }

        if (request.DebounceSeconds is not null)
        {
            return new JobUniqueness(key, [JobStatus.Queued], null)
            {
                Debounce = pending => by.Sign(JobTransitions.Debounce(pending, job.Input, job.RunAt, now, by.Name))!,
            };
        }

        var since = request.UniqueWindowSeconds is { } window ? now - TimeSpan.FromSeconds(window) : (DateTimeOffset?)null;
        return new JobUniqueness(key, request.UniqueStatuses is { } statuses ? [.. statuses.Distinct()] : Unfinished, since);
    }
}
