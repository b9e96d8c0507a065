using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper;

/// <summary>
/// The facade applications call: create, read, list, change and delete jobs. Reads are served from
/// the hot cache when they can be; every write goes to the store first and returns only once committed.
/// </summary>
public sealed partial class JobManager
{
    public const int MaxRetentionDays = 36_500;
    /// <summary>The most events one <see cref="GetEventsAsync"/> call returns.</summary>
    public const int MaxEventsLimit = 10_000;

    private readonly JobKernel _kernel;
    private readonly IJobStore _store;
    private readonly TimeProvider _time;
    private readonly JobkeeperOptions _options;
    private readonly ILogger<JobManager> _logger;
    private readonly Workers.DrivenJobs _driven;
    private readonly JobkeeperInstruments _instruments;
    private readonly Lock _statsLock = new();
    private volatile StatsReading? _lastStats;
    private Task<StoreStats>? _statsRead;

    internal JobManager(JobKernel kernel, TimeProvider time, IOptions<JobkeeperOptions> options, ILogger<JobManager> logger,
        Workers.DrivenJobs driven, JobkeeperInstruments instruments)
    {
        _kernel = kernel;
        _store = kernel.Store;
        _time = time;
        _options = options.Value;
        _logger = logger;
        _driven = driven;
        _instruments = instruments;
    }

    /// <summary>Creates a job in <c>queued</c>. Throws <see cref="DuplicateJobException"/> when the id is taken.</summary>
    public Task<Job> CreateAsync(NewJob request, CancellationToken cancellationToken = default) => CreateAsync(request, null, cancellationToken);

    /// <summary>
    /// Creates a job in <c>queued</c> with <paramref name="input"/> as its input, serialised as in-process handlers read
    /// it (<see cref="Workers.JobWorkerOptions.SerializerOptions"/>), or with <paramref name="typeInfo"/> when given.
    /// </summary>
    public Task<Job> CreateAsync<TInput>(NewJob request, TInput input, JsonTypeInfo<TInput>? typeInfo = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return CreateAsync(request.WithInput(input, typeInfo, _options.Workers.SerializerOptions), null, cancellationToken);
    }

    /// <summary>The job, or null when there is none. Memory first, then the store (which warms the cache).</summary>
    public ValueTask<Job?> GetAsync(string id, CancellationToken cancellationToken = default) => _kernel.GetAsync(id, cancellationToken);

    /// <summary>
    /// The job as readers are shown it: a queued, due job that its queue's settings hold back says why in
    /// <see cref="Job.BlockedBy"/> (worked out now; never stored). Any other job is returned as it is, without a read.
    /// </summary>
    public async ValueTask<Job> WithBlockedByAsync(Job job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Status != JobStatus.Queued)
        {
            return job;
        }

        var blockedBy = await _store.GetBlockedByAsync(job, Now(), cancellationToken).ConfigureAwait(false);
        return blockedBy is null ? job : job with { BlockedBy = blockedBy };
    }

    /// <summary><see cref="WithBlockedByAsync(Job, CancellationToken)"/> of each job of a page, in order.</summary>
    public async Task<IReadOnlyList<Job>> WithBlockedByAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (!jobs.Any(j => j.Status == JobStatus.Queued))
        {
            return jobs;
        }

        var shown = new Job[jobs.Count];
        for (var i = 0; i < jobs.Count; i++)
        {
            shown[i] = await WithBlockedByAsync(jobs[i], cancellationToken).ConfigureAwait(false);
        }

        return shown;
    }

    public async Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > JobQuery.MaxLimit)
        {
            throw new JobValidationException("limit", $"must be between 1 and {JobQuery.MaxLimit}");
        }

        ValidateFilter(query, "");
        return await _store.ListAsync(query, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The rules of a listing's filters, by name as sent (<paramref name="prefix"/> before each: <c>filter.</c> in a bulk action).</summary>
    private static void ValidateFilter(JobQuery query, string prefix)
    {
        if (query.Queue is not null)
        {
            JobValidator.ValidateQueue(query.Queue, prefix + "queue");
        }

        if (query.After is { } cursor && cursor.Order != query.Order)
        {
            throw new JobValidationException(prefix + "cursor", $"was issued for sort={cursor.Order}; send the same sort with it, or start again without a cursor");
        }

        if (query.Search is { Text.Length: > JobSearch.MaxLength })
        {
            throw new JobValidationException(prefix + "q", $"must be at most {JobSearch.MaxLength} characters (got {query.Search.Text.Length})");
        }
    }

    /// <summary>
    /// Applies a patch atomically. With <paramref name="expectedVersion"/> it is compare-and-set
    /// (<see cref="VersionMismatchException"/> when the job moved on); without, a concurrent change is
    /// re-read and the patch applied on top of it, so no writer's change is lost.
    /// </summary>
    /// <remarks>
    /// A patch that sets a job running gives it a lease (<see cref="JobPatch.Lease"/>, or <c>Workers.AppLeaseDuration</c>),
    /// and every update of a running job renews it. A job this process set running (no <see cref="JobPatch.LeaseOwner"/>)
    /// is renewed in the background while this process lives; if the process dies, the job is recovered after its lease
    /// (queued again when a handler or worker runs its type, otherwise failed with <c>no_runner</c>).
    /// </remarks>
    public async Task<Job> UpdateAsync(string id, JobPatch patch, long? expectedVersion = null, JobActor? actor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        if (patch.Progress is { } progress)
        {
            JobValidator.ValidateProgress(progress);
        }

        if (patch.Error.HasValue)
        {
            JobValidator.ValidateError(patch.Error.Value);
        }

        JobValidator.ValidateAppLease(patch.Lease);
        using var activity = JobkeeperTelemetry.Source.StartActivity("jobkeeper.job.update");
        activity?.SetTag("jobkeeper.job.id", id);
        var now = Now();
        var lease = new AppLease(patch.LeaseOwner ?? _options.Workers.WorkerId, LeaseTokens.New(), _options.Workers.AppLeaseDuration);
        var by = By(actor);
        var job = await _kernel.ChangeAsync(id, current =>
        {
            if (expectedVersion is { } expected && current.Version != expected)
            {
                throw new VersionMismatchException(id, expected, current.Version);
            }

            return by.Sign(JobPatchApplier.Apply(current, patch, now, by.Name!, lease));
        }, cancellationToken).ConfigureAwait(false);
        _driven.Observe(job, patch.LeaseOwner is null ? lease.Token : null);
        activity?.SetTag("jobkeeper.job.version", job.Version);
        return job;
    }

    /// <summary>
    /// Cancels a job: a queued or waiting job ends <c>cancelled</c> at once; a running job's worker is told
    /// to stop, and the job ends <c>cancelled</c> when it does or when the grace period runs out. Cancelling
    /// a cancelled job changes nothing; a completed or failed job cannot be cancelled.
    /// </summary>
    public Task<Job> CancelAsync(string id, JobActor? actor = null, CancellationToken cancellationToken = default) =>
        _kernel.ChangeAsync(id, CancelChange(By(actor)), cancellationToken);

    /// <summary>Queues a failed or cancelled job again, with attempt + 1.</summary>
    public Task<Job> RetryAsync(string id, JobActor? actor = null, CancellationToken cancellationToken = default) =>
        _kernel.ChangeAsync(id, RetryChange(By(actor)), cancellationToken);

    private Func<Job, JobReplacement?> CancelChange(JobActor by)
    {
        var now = Now();
        var grace = _options.Workers.CancelGracePeriod;
        return job => by.Sign(JobTransitions.Cancel(job, now, grace, by.Name!));
    }

    private Func<Job, JobReplacement?> RetryChange(JobActor by)
    {
        var now = Now();
        return job => by.Sign(JobTransitions.Retry(job, now, by.Name!));
    }

    /// <summary>The prompt a waiting job is waiting on, or null when there is none. Throws <see cref="JobNotFoundException"/> for an unknown job.</summary>
    public async Task<JobPrompt?> GetOpenPromptAsync(string id, CancellationToken cancellationToken = default)
    {
        var job = await GetAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(id);
        return job.OpenPrompt;
    }

    /// <summary>
    /// Answers the open prompt of a waiting job and queues it to run again. Exactly one answer wins: a second
    /// (or one racing the prompt's expiry and losing) gets <see cref="JobStateConflictException"/>. An answer
    /// outside the options or failing the schema gets <see cref="AnswerRejectedException"/>. The prompt records
    /// <paramref name="answeredBy"/> as who answered (and its display name), and <paramref name="reason"/> (else the actor's) as why.
    /// </summary>
    public async Task<Job> AnswerAsync(string id, JsonElement answer, double? confidence = null, JobActor? answeredBy = null, string? reason = null,
        string? key = null, CancellationToken cancellationToken = default)
    {
        if (confidence is { } c && (!double.IsFinite(c) || c < 0 || c > 1))
        {
            throw new JobValidationException("confidence", "must be a number from 0 to 1");
        }

        var job = await GetAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new JobNotFoundException(id);
        var open = PromptTransitions.OpenPromptOrThrow(job, key);
        await PromptRules.EnsureAcceptedAsync(id, open, answer).ConfigureAwait(false);
        var now = Now();
        var by = By(answeredBy);
        by = by with { Reason = reason ?? by.Reason };
        // The answer was checked against this prompt; the transition answers only while that same prompt is still open.
        return await _kernel.ChangeAsync(id, current =>
            by.Sign(PromptTransitions.Answer(current, open.Key, answer.Clone(), confidence, by, by.Reason, now)), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a job with its history. Throws <see cref="JobNotFoundException"/> when there is none.</summary>
    public Task DeleteAsync(string id, CancellationToken cancellationToken = default) => DeleteAsync(id, null, cancellationToken);

    /// <summary>
    /// Deletes a job with its history. Throws <see cref="JobNotFoundException"/> when there is none. The history goes
    /// with the job, so who deleted it and why (<paramref name="actor"/>) is written to the log instead.
    /// </summary>
    public async Task DeleteAsync(string id, JobActor? actor, CancellationToken cancellationToken = default)
    {
        if (!await _store.DeleteAsync(id, cancellationToken).ConfigureAwait(false))
        {
            throw new JobNotFoundException(id);
        }

        var by = By(actor);
        _logger.LogInformation("Job {JobId} deleted by {Actor} (display name: {DisplayName}; reason: {Reason})",
            id, by.Name, by.DisplayName ?? "none", by.Reason ?? "none");
    }

    /// <summary>
    /// Deletes terminal jobs completed more than <paramref name="days"/> days ago, in small batches
    /// so that other writes interleave and never wait long.
    /// </summary>
    public async Task<CleanupResult> CleanupAsync(int days, CancellationToken cancellationToken = default)
    {
        if (days is < 0 or > MaxRetentionDays)
        {
            throw new JobValidationException("days", $"must be a whole number of days from 0 to {MaxRetentionDays}");
        }

        using var activity = JobkeeperTelemetry.Source.StartActivity("jobkeeper.jobs.cleanup");
        var cutoff = Now() - TimeSpan.FromDays(days);
        var batchSize = Math.Max(1, _options.CleanupBatchSize);
        var deleted = 0;
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ids = await _store.DeleteTerminalBatchAsync(cutoff, batchSize, cancellationToken).ConfigureAwait(false);
            deleted += ids.Count;
            if (ids.Count < batchSize)
            {
                break;
            }
        }

        activity?.SetTag("jobkeeper.cleanup.deleted", deleted);
        _logger.LogInformation("Cleanup deleted {DeletedCount} terminal jobs completed before {Cutoff:O} in {ElapsedMs} ms",
            deleted, cutoff, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new CleanupResult(deleted, days, cutoff);
    }

    /// <summary>The job's history, oldest first. Throws <see cref="JobNotFoundException"/> when there is no such job.</summary>
    public async Task<IReadOnlyList<JobEvent>> GetEventsAsync(string id, long afterId = 0, int limit = 1000, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > MaxEventsLimit)
        {
            throw new JobValidationException("limit", $"must be between 1 and {MaxEventsLimit}");
        }

        if (await GetAsync(id, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new JobNotFoundException(id);
        }

        return await _store.GetEventsAsync(id, afterId, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the store's facts and counts now (and keeps them for <see cref="LastStats"/>).</summary>
    public async Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        var stats = await _store.GetStatsAsync(cancellationToken).ConfigureAwait(false);
        _lastStats = new StatsReading(stats, _time.GetTimestamp());
        return stats;
    }

    /// <summary>The store's facts and counts as last read (by <c>/health</c>, a metrics scrape or anyone else), or null before the first read.</summary>
    public StoreStats? LastStats => _lastStats?.Stats;

    /// <summary>
    /// The last counts when they are younger than <paramref name="maxAge"/>, else reads them again; concurrent callers
    /// share one read, so frequent callers (metrics scrapes) never load the store with more than one count per interval.
    /// </summary>
    public Task<StoreStats> GetRecentStatsAsync(TimeSpan maxAge, CancellationToken cancellationToken = default)
    {
        if (_lastStats is { } last && _time.GetElapsedTime(last.ReadAt) < maxAge)
        {
            return Task.FromResult(last.Stats);
        }

        lock (_statsLock)
        {
            if (_statsRead is { IsCompleted: false } running)
            {
                return running.WaitAsync(cancellationToken);
            }

            var read = GetStatsAsync(CancellationToken.None);
            _statsRead = read;
            return read.WaitAsync(cancellationToken);
        }
    }

    private sealed record StatsReading(StoreStats Stats, long ReadAt);

    private DateTimeOffset Now() => _kernel.Now();

    /// <summary>The actor a change is recorded under: the one given, with the default name when it names none.</summary>
    private JobActor By(JobActor? actor) => actor is { Name: not null } ? actor : (actor ?? new JobActor(null)) with { Name = _options.DefaultActor };
}

/// <summary>What a cleanup did.</summary>
public sealed record CleanupResult(int DeletedCount, int RetentionDays, DateTimeOffset Cutoff);
