using System.Diagnostics;
using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Workers;

/// <summary>
/// The worker protocol, the same for in-process handlers and external workers over HTTP: claim due jobs
/// under a lease, then heartbeat, report progress, complete, fail or release them — each only with the
/// current lease token, so a worker that lost its lease can never overwrite the new owner's work.
/// </summary>
public sealed class WorkQueue
{
    public static readonly TimeSpan MinLease = TimeSpan.FromSeconds(JobLimits.MinLeaseSeconds);
    public static readonly TimeSpan MaxLease = TimeSpan.FromSeconds(JobLimits.MaxLeaseSeconds);
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(JobLimits.MaxWaitSeconds);

    private readonly JobKernel _kernel;
    private readonly IJobStore _store;
    private readonly JobSignals _signals;
    private readonly JobRunners _runners;
    private readonly TimeProvider _time;
    private readonly JobWorkerOptions _options;
    private readonly WorkerActivity _activity;

    internal WorkQueue(JobKernel kernel, IJobStore store, JobSignals signals, JobRunners runners, TimeProvider time, IOptions<JobkeeperOptions> options,
        WorkerActivity activity)
    {
        _activity = activity;
        _kernel = kernel;
        _store = store;
        _signals = signals;
        _runners = runners;
        _time = time;
        _options = options.Value.Workers;
    }

    /// <summary>Claims up to <paramref name="max"/> due jobs, at most the given number per type, for <paramref name="worker"/>.</summary>
    public Task<IReadOnlyList<Job>> ClaimAsync(string worker, IReadOnlyDictionary<string, int> types, int max, TimeSpan lease, CancellationToken cancellationToken = default) =>
        ClaimAsync(worker, types, [], max, lease, cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="max"/> due jobs for <paramref name="worker"/>: of <paramref name="types"/> (at most the given
    /// number per type) in <paramref name="queues"/> (any queue when empty), or with no types, of any type in those queues.
    /// </summary>
    public async Task<IReadOnlyList<Job>> ClaimAsync(string worker, IReadOnlyDictionary<string, int> types, IReadOnlyList<string> queues, int max, TimeSpan lease,
        CancellationToken cancellationToken = default)
    {
        ValidateClaim(worker, types.Keys, queues, max, lease);
        await _runners.ClaimingAsync(types.Keys, cancellationToken).ConfigureAwait(false);
        var now = _kernel.Now();
        var leaseUntil = now + lease;
        // Span times are the activity clock's, as every span's end is; the job's own times stay on the TimeProvider.
        var claimStarted = DateTimeOffset.UtcNow;
        var claimed = await _store.ClaimAsync(new ClaimRequest(types, max, now) { Queues = queues },
            job => JobTransitions.Claim(job, worker, LeaseTokens.New(), leaseUntil, now), cancellationToken).ConfigureAwait(false);
        if (types.Count == 0 && claimed.Count > 0)
        {
            // A claim by queue names no types: the types it took are the ones a reaper must know someone runs.
            await _runners.ClaimingAsync(claimed.Select(j => j.Type).Distinct(StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
        }

        _kernel.Instruments.RecordClaimed(claimed, now);
        _activity.Claimed(worker, worker == _options.WorkerId ? WorkerActivity.InProcess : WorkerActivity.Http, claimed.Count);
        TraceClaims(claimed, worker, claimStarted);
        return claimed;
    }

    /// <summary>
    /// One claim span per claimed job, in the job's own trace (one claim takes jobs of many traces), linked to the span
    /// of the call that claimed it (the worker's request, or the in-process dispatch).
    /// </summary>
    private static void TraceClaims(IReadOnlyList<Job> claimed, string worker, DateTimeOffset started)
    {
        if (claimed.Count == 0 || !JobkeeperTelemetry.Source.HasListeners())
        {
            return;
        }

        ActivityLink[]? links = Activity.Current is { } caller ? [new ActivityLink(caller.Context)] : null;
        foreach (var job in claimed)
        {
            using var span = JobTrace.StartJobSpan("jobkeeper.job.claim", job, ActivityKind.Consumer, started, links);
            span?.SetTag("jobkeeper.worker.id", worker);
        }
    }

    /// <summary>
    /// One lease call under its span, a child of the caller's: the worker's request (which carries the job's
    /// <c>traceparent</c>), or the in-process run. The span ends with the job's status, or the error.
    /// </summary>
    private async Task<Job> TracedChangeAsync(string name, string id, Func<Job, JobReplacement?> change, CancellationToken cancellationToken)
    {
        using var span = JobTrace.StartCallSpan(name, id);
        try
        {
            // The worker is the lease's owner: what a worker view counts for it (heard from, completed, failed).
            string? worker = null;
            var job = await _kernel.ChangeAsync(id, current =>
            {
                worker = current.LeaseOwner;
                return change(current);
            }, cancellationToken).ConfigureAwait(false);
            Observe(name, worker, job);
            return JobTrace.Ended(span, job);
        }
        catch (Exception ex) when (JobTrace.Failed(span, ex))
        {
            throw;
        }
    }

    /// <summary>Counts a lease call for its worker: an attempt that ended completed, one that failed, or only a sign of life.</summary>
    private void Observe(string call, string? worker, Job after)
    {
        if (worker is null)
        {
            return;
        }

        switch (call)
        {
            case "jobkeeper.job.complete" when after.Status == JobStatus.Completed:
                _activity.Completed(worker);
                break;
            case "jobkeeper.job.fail":
                _activity.Failed(worker);
                break;
            default:
                _activity.Seen(worker);
                break;
        }
    }

    /// <summary>
    /// Claims like <c>ClaimAsync</c>, but when nothing is due waits up to <paramref name="wait"/> for a
    /// job to be queued or to come due, and claims it then. Returns empty when the wait ran out.
    /// </summary>
    public Task<IReadOnlyList<Job>> ClaimWaitingAsync(string worker, IReadOnlyCollection<string> types, int max, TimeSpan lease, TimeSpan wait,
        CancellationToken cancellationToken = default) =>
        ClaimWaitingAsync(worker, types, [], max, lease, wait, cancellationToken);

    /// <summary>
    /// Claims like <see cref="ClaimAsync(string, IReadOnlyDictionary{string, int}, IReadOnlyList{string}, int, TimeSpan, CancellationToken)"/>,
    /// but when nothing is due waits up to <paramref name="wait"/> for a job to be queued or to come due, and claims it then.
    /// Returns empty when the wait ran out.
    /// </summary>
    public async Task<IReadOnlyList<Job>> ClaimWaitingAsync(string worker, IReadOnlyCollection<string> types, IReadOnlyList<string> queues, int max, TimeSpan lease,
        TimeSpan wait, CancellationToken cancellationToken = default)
    {
        if (wait < TimeSpan.Zero || wait > MaxWait)
        {
            throw new JobValidationException("wait_seconds", $"must be between 0 and {MaxWait.TotalSeconds:0}");
        }

        // Checked as given (before duplicates go), so a bad type is named by its place in the caller's list.
        ValidateClaim(worker, types, queues, max, lease);
        var limits = types.Distinct(StringComparer.Ordinal).ToDictionary(t => t, _ => max, StringComparer.Ordinal);
        var inQueues = queues.Distinct(StringComparer.Ordinal).ToList();
        var deadline = _time.GetUtcNow() + wait;
        while (true)
        {
            // Listen before claiming, so a job queued between the claim and the wait still wakes us.
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // A claim by queue alone wakes on any queued job (and claims what is its own): signals are kept by type.
            using (limits.Count > 0 ? _signals.OnQueued(limits.Keys, () => signal.TrySetResult()) : _signals.OnAnyQueued(() => signal.TrySetResult()))
            {
                var claimedAt = _time.GetUtcNow();
                var jobs = await ClaimAsync(worker, limits, inQueues, max, lease, cancellationToken).ConfigureAwait(false);
                var now = _time.GetUtcNow();
                if (jobs.Count > 0 || now >= deadline)
                {
                    return jobs;
                }

                var delay = deadline - now;
                if (delay > _options.PollInterval)
                {
                    delay = _options.PollInterval;
                }

                // A job due when the claim ran and not taken is held back by its queue's settings: a signal (a resume, a running
                // job ending) or the poll wakes this wait for it, not its run_at, which would make the wait spin.
                if (await _store.GetNextRunAtAsync(limits.Keys, inQueues, cancellationToken).ConfigureAwait(false) is { } next && next > claimedAt
                    && next - now < delay)
                {
                    delay = next > now ? next - now : TimeSpan.Zero;
                }

                try
                {
                    await signal.Task.WaitAsync(delay, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Time to look again: a scheduled job came due, a poll is due, or the wait is over.
                }
            }
        }
    }

    /// <summary>
    /// Extends the lease by <paramref name="lease"/>, or when null by the length the claim asked for (or the last length
    /// given). The returned job says whether a cancel was requested (then the lease is not extended).
    /// </summary>
    public Task<Job> HeartbeatAsync(string id, string leaseToken, TimeSpan? lease = null, CancellationToken cancellationToken = default)
    {
        ValidateLease(lease);
        var now = _kernel.Now();
        return TracedChangeAsync("jobkeeper.job.heartbeat", id, job => JobTransitions.Heartbeat(job, leaseToken, lease, now), cancellationToken);
    }

    /// <summary>Records progress (merged member by member) and extends the lease as <see cref="HeartbeatAsync"/> does.</summary>
    public Task<Job> ReportProgressAsync(string id, string leaseToken, ProgressPatch progress, TimeSpan? lease = null, CancellationToken cancellationToken = default)
    {
        ValidateLease(lease);
        JobValidator.ValidateProgress(progress, prefix: "");
        var now = _kernel.Now();
        return TracedChangeAsync("jobkeeper.job.progress", id, job => JobTransitions.Progress(job, leaseToken, progress, lease, now), cancellationToken);
    }

    /// <summary>Ends the attempt successfully with <paramref name="result"/> (or cancelled, if a cancel was requested).</summary>
    public Task<Job> CompleteAsync(string id, string leaseToken, JsonElement? result, CancellationToken cancellationToken = default)
    {
        var now = _kernel.Now();
        return TracedChangeAsync("jobkeeper.job.complete", id, job => JobTransitions.Complete(job, leaseToken, result, now), cancellationToken);
    }

    /// <summary>
    /// Ends the attempt as failed. With <paramref name="retry"/> and attempts left the job is queued again after
    /// the backoff of <paramref name="policy"/> (when null, the one configured for the job's type); otherwise it ends failed.
    /// </summary>
    public Task<Job> FailAsync(string id, string leaseToken, JobError error, bool retry = true, RetryPolicy? policy = null,
        CancellationToken cancellationToken = default)
    {
        JobValidator.ValidateError(error);
        var now = _kernel.Now();
        var random = Random.Shared.NextDouble();
        return TracedChangeAsync("jobkeeper.job.fail", id,
            job => JobTransitions.Fail(job, leaseToken, error, retry ? (policy ?? _options.RetryFor(job.Type)).DelayAfter(job.Attempt, random) : null, now),
            cancellationToken);
    }

    /// <summary>
    /// Asks a person: the job becomes <c>waiting</c> (its lease ends, the attempt is not used up) until the
    /// prompt is answered or expires. When <paramref name="request"/>'s key was answered already, nothing
    /// changes and the answered prompt is returned instead (replay). A key asked before but never answered
    /// (the prompt expired or the job was cancelled, and the job was retried) is asked anew. When a cancel was
    /// requested the job ends cancelled instead, and no prompt is returned.
    /// </summary>
    public async Task<(Job Job, JobPrompt? Prompt)> AskAsync(string id, string leaseToken, PromptRequest request, CancellationToken cancellationToken = default)
    {
        if (request.ExpiresIn is { } expiresIn && (expiresIn <= TimeSpan.Zero || expiresIn > PromptRules.MaxExpiresIn))
        {
            throw new JobValidationException("expires_in_seconds", $"must be more than 0 and at most {PromptRules.MaxExpiresIn.TotalSeconds:0}");
        }

        var now = _kernel.Now();
        var prompt = request.ToPrompt(now);
        await PromptRules.ValidateAskAsync(prompt).ConfigureAwait(false);
        JobPrompt? existing = null;
        var job = await TracedChangeAsync("jobkeeper.job.prompt", id, current =>
        {
            JobTransitions.EnsureLease(current, leaseToken);
            existing = current.Prompts.FirstOrDefault(p => p.Key == prompt.Key && !p.IsOpen);
            return existing is null ? PromptTransitions.Ask(current, leaseToken, prompt, now) : null;
        }, cancellationToken).ConfigureAwait(false);
        // No prompt when the job ended instead of waiting (a cancel had been requested: it is cancelled now).
        return (job, existing ?? job.Prompts.LastOrDefault(p => p.Key == prompt.Key));
    }

    /// <summary>Saves the handler's checkpoint (small JSON state) under the lease.</summary>
    public Task<Job> SaveCheckpointAsync(string id, string leaseToken, JsonElement? state, CancellationToken cancellationToken = default)
    {
        var now = _kernel.Now();
        return TracedChangeAsync("jobkeeper.job.checkpoint", id, job => PromptTransitions.SaveCheckpoint(job, leaseToken, state, now), cancellationToken);
    }

    /// <summary>Gives the job back unfinished: queued again at once for any worker, the attempt not counted.</summary>
    public Task<Job> ReleaseAsync(string id, string leaseToken, CancellationToken cancellationToken = default)
    {
        var now = _kernel.Now();
        return TracedChangeAsync("jobkeeper.job.release", id, job => JobTransitions.Release(job, leaseToken, now), cancellationToken);
    }

    private static void ValidateClaim(string worker, IEnumerable<string> types, IReadOnlyList<string> queues, int max, TimeSpan lease)
    {
        if (string.IsNullOrWhiteSpace(worker) || worker.Length > 200)
        {
            throw new JobValidationException("worker_id", "is required: a name for this worker, 1 to 200 characters");
        }

        var index = 0;
        foreach (var type in types)
        {
            if (string.IsNullOrWhiteSpace(type) || type.Length > JobLimits.MaxTypeLength)
            {
                throw new JobValidationException($"types[{index}]", $"must be a job type: 1 to {JobLimits.MaxTypeLength} characters, not blank");
            }

            index++;
        }

        for (var i = 0; i < queues.Count; i++)
        {
            JobValidator.ValidateQueue(queues[i], $"queues[{i}]");
        }

        if (index == 0 && queues.Count == 0)
        {
            throw new JobValidationException("types", "must name at least one job type to claim, or give queues to claim from");
        }

        if (max is < 1 or > JobLimits.MaxClaim)
        {
            throw new JobValidationException("max", $"must be between 1 and {JobLimits.MaxClaim}");
        }

        ValidateLease(lease);
    }

    private static void ValidateLease(TimeSpan? lease)
    {
        if (lease is { } l && (l < MinLease || l > MaxLease))
        {
            throw new JobValidationException("lease_seconds", $"must be between {MinLease.TotalSeconds:0} and {MaxLease.TotalSeconds:0}");
        }
    }
}
