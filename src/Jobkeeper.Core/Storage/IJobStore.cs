using Jobkeeper.Model;

namespace Jobkeeper.Storage;

/// <summary>
/// The durable database behind Jobkeeper. A store holds no business rules: <see cref="JobManager"/>
/// decides what a change is and the store applies it atomically, compare-and-set on the version.
/// Every returned write is committed (durable to the store's durability setting).
/// </summary>
public interface IJobStore : IAsyncDisposable
{
    /// <summary>Provider name (e.g. "sqlite") and where the data lives, for health and logs.</summary>
    StoreDescription Description { get; }

    /// <summary>Opens the store and applies pending schema migrations.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Inserts a new job and its creation event; false when the id exists already.</summary>
    Task<bool> InsertAsync(Job job, JobEvent created, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts a job with its creation event unless a job with its unique key blocks it (<see cref="JobInsert.Unique"/>, which
    /// must be set): the check and the insert are atomic, so concurrent inserts with one key, on any instance, store one job.
    /// With a debounce, the blocking job takes the debounce's change instead.
    /// </summary>
    Task<InsertOutcome> InsertUniqueAsync(JobInsert insert, CancellationToken cancellationToken);

    /// <summary>
    /// Inserts new jobs and their creation events in one transaction, in their order: all of them are stored, or (when it
    /// fails) none. Each is answered as <see cref="InsertUniqueAsync"/> answers (a job without a unique key is created, or
    /// skipped when its id is taken); a job with a unique key sees the jobs of the batch before it.
    /// </summary>
    Task<IReadOnlyList<InsertOutcome>> InsertManyAsync(IReadOnlyList<JobInsert> jobs, CancellationToken cancellationToken);

    /// <summary>Replaces a job if it is still at <see cref="JobReplacement.ExpectedVersion"/>; false otherwise (changed or gone).</summary>
    Task<bool> ReplaceAsync(JobReplacement replacement, CancellationToken cancellationToken);

    /// <summary>Deletes a job with its labels and events; false when there was none.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes up to <paramref name="batchSize"/> terminal jobs completed before <paramref name="cutoff"/>
    /// in one short transaction and returns their ids (empty when none are left).
    /// </summary>
    Task<IReadOnlyList<string>> DeleteTerminalBatchAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> terminal jobs (only of <paramref name="status"/> when given) completed before
    /// <paramref name="cutoff"/>, earliest completed first (then id). Reads only: retention archives these, then
    /// deletes them with <see cref="DeleteTerminalAsync"/>.
    /// </summary>
    Task<IReadOnlyList<Job>> GetTerminalBatchAsync(DateTimeOffset cutoff, JobStatus? status, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes, in one short transaction, those of <paramref name="ids"/> that are still terminal and completed before
    /// <paramref name="cutoff"/>, with their labels and events; returns the ids deleted (a job retried meanwhile stays).
    /// </summary>
    Task<IReadOnlyList<string>> DeleteTerminalAsync(IReadOnlyCollection<string> ids, DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>
    /// Claims due queued jobs atomically: in one transaction, picks up to <see cref="ClaimRequest.Max"/> queued
    /// jobs of the requested types whose <c>run_at</c> has come (highest priority first, then earliest
    /// <c>run_at</c>, then id), applies <paramref name="claim"/> to each and stores the results. No job is
    /// ever handed to two claims.
    /// </summary>
    Task<IReadOnlyList<Job>> ClaimAsync(ClaimRequest request, Func<Job, JobReplacement> claim, CancellationToken cancellationToken);

    /// <summary>Running jobs whose lease expired at or before <paramref name="now"/>, soonest expired first.</summary>
    Task<IReadOnlyList<Job>> GetExpiredLeasesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>Waiting jobs whose open prompt expired at or before <paramref name="now"/>, soonest expired first.</summary>
    Task<IReadOnlyList<Job>> GetExpiredPromptsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The earliest <c>run_at</c> of the queued jobs of these types (any type when empty) in these queues (any queue when
    /// empty), or null when none are queued.
    /// </summary>
    Task<DateTimeOffset?> GetNextRunAtAsync(IReadOnlyCollection<string> types, IReadOnlyCollection<string> queues, CancellationToken cancellationToken);

    /// <summary>
    /// Records that an in-process handler or an external worker ran each job type at the time given (a later time
    /// replaces an earlier one, never the reverse). Shared by every instance on the store.
    /// </summary>
    Task RecordRunnersAsync(IReadOnlyDictionary<string, DateTimeOffset> seen, CancellationToken cancellationToken);

    /// <summary>The job types some handler or worker said it runs at or after <paramref name="seenSince"/>.</summary>
    Task<IReadOnlyCollection<string>> GetRunnersAsync(DateTimeOffset seenSince, CancellationToken cancellationToken);

    /// <summary>
    /// Stores what this <paramref name="instance"/> saw of its workers (one row per worker and instance, replaced), and drops
    /// rows last seen before <paramref name="forgetBefore"/>. Shared by every instance on the store.
    /// </summary>
    Task RecordWorkersAsync(string instance, IReadOnlyList<WorkerSeen> workers, DateTimeOffset forgetBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Brings up to <paramref name="max"/> of the jobs whose text changed (created, or labels, input, result or error changed)
    /// into the search index, in one short transaction; returns how many (fewer than <paramref name="max"/>: none are left).
    /// Until then a search does not see the change. Safe to run on several instances at once.
    /// </summary>
    Task<int> IndexSearchAsync(int max, CancellationToken cancellationToken);

    /// <summary>Every instance's row of every worker last seen at or after <paramref name="seenSince"/>.</summary>
    Task<IReadOnlyList<WorkerSeen>> GetWorkersAsync(DateTimeOffset seenSince, CancellationToken cancellationToken);

    Task<Job?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Newest first (created_at, then id, descending), from after the query's cursor.</summary>
    Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken);

    /// <summary>Events of one job with an id above <paramref name="afterId"/>, oldest first.</summary>
    Task<IReadOnlyList<JobEvent>> GetEventsAsync(string jobId, long afterId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Events with an id above <paramref name="afterId"/> (of one job, or of all jobs when <paramref name="jobId"/> is
    /// null), in id order (which is commit order), each with its job's type and its status right after the event:
    /// what a live stream replays after a reconnect.
    /// </summary>
    Task<IReadOnlyList<FeedEvent>> GetFeedAsync(long afterId, int limit, string? jobId, CancellationToken cancellationToken);

    /// <summary>Counts and store facts for health and operator commands; throws when the store cannot be read.</summary>
    Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken);

    /// <summary>Every queue's stored settings, read from the database (not from what this instance holds in memory), by name.</summary>
    Task<IReadOnlyList<QueueSettings>> GetQueueSettingsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores a queue's settings compare-and-set: <paramref name="next"/> replaces <paramref name="current"/> (the settings as
    /// read, null when the queue had none stored) only while they are still at its version; false otherwise. Claims on every
    /// instance see the change from the moment this returns: a claim in flight finishes first, and the next one sees it, and
    /// waiting claims are woken. A change of the partition key moves the queue's unfinished jobs into the new partitions in
    /// the same transaction.
    /// </summary>
    Task<bool> SaveQueueSettingsAsync(QueueSettings? current, QueueSettings next, CancellationToken cancellationToken);

    /// <summary>Every queue that has jobs or settings (only <paramref name="queue"/> when given), with its counts at <paramref name="now"/>.</summary>
    Task<IReadOnlyList<QueueStats>> GetQueueStatsAsync(string? queue, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// The stored schedules <paramref name="query"/> selects, by name, as stored (<see cref="Schedule.NextRuns"/> empty: the
    /// caller computes them).
    /// </summary>
    Task<IReadOnlyList<Schedule>> GetSchedulesAsync(ScheduleQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a schedule compare-and-set: inserts <paramref name="next"/> when <paramref name="current"/> is null and no schedule
    /// has its name, or replaces the stored one while it is still at <paramref name="current"/>'s version; false otherwise.
    /// </summary>
    Task<bool> SaveScheduleAsync(Schedule? current, Schedule next, CancellationToken cancellationToken);

    /// <summary>Deletes a schedule (its jobs stay); false when there was none.</summary>
    Task<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken);

    /// <summary>Why a queued, due job is held back by its queue's settings at <paramref name="now"/> (<see cref="JobBlockedBy"/>), or null.</summary>
    ValueTask<string?> GetBlockedByAsync(Job job, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>Which schedules to read: every one, the one named <see cref="Name"/>, or those not paused and due by <see cref="DueBy"/>.</summary>
public sealed record ScheduleQuery(string? Name = null, DateTimeOffset? DueBy = null)
{
    public static ScheduleQuery All { get; } = new();
}

/// <summary>A queue's settings (default ones when it has none stored) and what its jobs are doing.</summary>
public sealed record QueueStats(
    QueueSettings Settings,
    IReadOnlyDictionary<JobStatus, long> Counts,
    DateTimeOffset? OldestDueRunAt,
    long? StartedInRateWindow,
    long FinishedLastMinute,
    long FinishedLast5Minutes,
    long FinishedLast15Minutes);

/// <summary>
/// What a claim may take: at most <see cref="Max"/> jobs in all and at most the given number per type,
/// of jobs due at <see cref="Now"/>.
/// </summary>
public sealed record ClaimRequest(IReadOnlyDictionary<string, int> Types, int Max, DateTimeOffset Now)
{
    /// <summary>Only jobs in these queues (any queue when empty). With no <see cref="Types"/>, jobs of every type in them.</summary>
    public IReadOnlyList<string> Queues { get; init; } = [];
}

/// <summary>An event with what a stream filters on: its job's type, and its status right after the event.</summary>
public sealed record FeedEvent(JobEvent Event, string JobType, JobStatus JobStatus);

public sealed record StoreDescription(string Provider, string Location);

/// <summary>A compare-and-set change of one job: the new state and the events it appends.</summary>
public sealed record JobReplacement(Job Job, long ExpectedVersion, IReadOnlyList<JobEvent> Events, bool LabelsChanged)
{
    /// <summary>
    /// The change replaces the input too (a debounce). The input is otherwise set once, at creation, so updates leave it (and
    /// its bytes) alone.
    /// </summary>
    public bool InputChanged { get; init; }
}

public sealed record StoreStats(
    string Provider,
    string Location,
    int SchemaVersion,
    long SizeBytes,
    long JobsCount,
    IReadOnlyDictionary<JobStatus, long> JobsByStatus);
