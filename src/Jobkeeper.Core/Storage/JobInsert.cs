using Jobkeeper.Model;

namespace Jobkeeper.Storage;

/// <summary>A new job and its creation event, as a batch insert takes them.</summary>
public sealed record JobInsert(Job Job, JobEvent Created)
{
    /// <summary>When set, the store inserts the job only if no job with its unique key blocks it (checked and inserted atomically).</summary>
    public JobUniqueness? Unique { get; init; }
}

/// <summary>
/// Which existing job keeps a new one with the same unique key from being inserted: the newest job with <see cref="Key"/> in one
/// of <see cref="Statuses"/>, created at or after <see cref="CreatedSince"/> (any time when null). Stores find it with
/// the index on the key, under a lock of the key, so concurrent creates with one key make one job.
/// </summary>
public sealed record JobUniqueness(string Key, IReadOnlyCollection<JobStatus> Statuses, DateTimeOffset? CreatedSince)
{
    /// <summary>
    /// A debounce: instead of answering with the blocking job, the store stores this change of it (in the same transaction,
    /// compare-and-set) and answers with the result.
    /// </summary>
    public Func<Job, JobReplacement>? Debounce { get; init; }

    /// <summary>Whether <paramref name="job"/> blocks the insert. A store that finds candidates by SQL states the same rule there.</summary>
    public bool Blocks(Job job) =>
        job.UniqueKey == Key && Statuses.Contains(job.Status) && (CreatedSince is not { } since || job.CreatedAt >= since);
}

/// <summary>What an insert did.</summary>
public enum InsertResult
{
    /// <summary>The job was stored.</summary>
    Created,

    /// <summary>A job with the unique key blocked it; <see cref="InsertOutcome.Job"/> is that job, unchanged.</summary>
    Existing,

    /// <summary>A job with the unique key blocked it and took the debounce; <see cref="InsertOutcome.Job"/> is that job as changed.</summary>
    Debounced,

    /// <summary>A job with the new job's id exists already; nothing was stored.</summary>
    IdTaken,

    /// <summary>
    /// The outcome depended on another write of the same transaction that did not land (it found its id taken); nothing was
    /// stored for this one, and asking again decides it.
    /// </summary>
    Retry,
}

/// <summary>What an insert did, and the job it stored or found (null for <see cref="InsertResult.IdTaken"/> and <see cref="InsertResult.Retry"/>).</summary>
public sealed record InsertOutcome(InsertResult Result, Job? Job)
{
    public static InsertOutcome IdTaken { get; } = new(InsertResult.IdTaken, null);

    public static InsertOutcome Retry { get; } = new(InsertResult.Retry, null);
}
