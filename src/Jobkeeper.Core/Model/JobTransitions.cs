using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Json;
using Jobkeeper.Storage;

namespace Jobkeeper.Model;

/// <summary>
/// The worker life cycle as pure functions: claim, heartbeat, finish, fail, release, lease expiry,
/// cancellation and retry. Each takes the current state and returns the replacement to store
/// compare-and-set (or null when nothing changes), so every rule is testable without a store and the
/// same whether an in-process handler or an external worker drives it.
/// </summary>
public static class JobTransitions
{
    /// <summary>The lease of a claim that names no length, and of a renewal of a job that has none recorded.</summary>
    public static readonly TimeSpan DefaultLease = TimeSpan.FromSeconds(30);

    /// <summary>A queued job is handed to <paramref name="worker"/> under a new lease.</summary>
    public static JobReplacement Claim(Job job, string worker, string leaseToken, DateTimeOffset leaseUntil, DateTimeOffset now)
    {
        JobStatusRules.EnsureCanMove(job.Id, job.Status, JobStatus.Running);
        var next = job with
        {
            Status = JobStatus.Running,
            // An attempt resumed after an answer (or a release) keeps the time it first started.
            StartedAt = job.StartedAt ?? now,
            CompletedAt = null,
            LeaseOwner = worker,
            LeaseExpiresAt = TimeMicros.Truncate(leaseUntil),
            LeaseToken = leaseToken,
            // Renewals that name no length renew for the length this claim asked for.
            LeaseDuration = leaseUntil - now,
            CancelRequestedAt = null,
            UpdatedAt = now,
            Version = job.Version + 1,
        };
        return Replace(job, next, StatusEvent(job, next, now, worker, new StatusChange(job.Status, JobStatus.Running)
        {
            Attempt = job.Attempt,
            Worker = worker,
        }));
    }

    /// <summary>
    /// Extends the lease to <paramref name="lease"/> from now; without one, for the job's own lease length (what the
    /// claim asked for, or the last length given). A given length becomes the job's lease length. Null when a cancel
    /// was requested (the lease then runs out at the grace deadline) or the lease would not move ahead.
    /// </summary>
    public static JobReplacement? Heartbeat(Job job, string leaseToken, TimeSpan? lease, DateTimeOffset now)
    {
        EnsureLease(job, leaseToken);
        var renewed = Renewal(job, lease, now);
        return renewed is null ? null : Replace(job, renewed with { UpdatedAt = now, Version = job.Version + 1 });
    }

    /// <summary>Progress reported by the lease holder; also a sign of life, so it extends the lease like <see cref="Heartbeat"/>.</summary>
    public static JobReplacement? Progress(Job job, string leaseToken, ProgressPatch progress, TimeSpan? lease, DateTimeOffset now)
    {
        EnsureLease(job, leaseToken);
        var renewed = Renewal(job, lease, now);
        // The progress is applied on top of the renewed lease, so one change records both.
        var patched = JobPatchApplier.Apply(renewed ?? job, new JobPatch { Progress = progress }, now, job.LeaseOwner ?? "worker");
        return patched ?? (renewed is null ? null : Replace(job, renewed with { UpdatedAt = now, Version = job.Version + 1 }));
    }

    /// <summary>
    /// The job with its lease moved to <paramref name="lease"/> (or its own lease length) from now, or null when that
    /// would not move it ahead or a cancel was requested (a cancel cuts the lease to the grace deadline; nothing renews it).
    /// The one rule for every renewal: worker heartbeats and progress, and updates of an app-driven job.
    /// </summary>
    public static Job? Renewal(Job job, TimeSpan? lease, DateTimeOffset now)
    {
        if (job.Status != JobStatus.Running || job.CancelRequestedAt is not null)
        {
            return null;
        }

        var length = lease ?? job.LeaseDuration ?? DefaultLease;
        var until = TimeMicros.Truncate(now + length);
        if (job.LeaseExpiresAt is { } expires && until <= expires)
        {
            return null;
        }

        return job with { LeaseExpiresAt = until, LeaseDuration = length };
    }

    /// <summary>The attempt succeeded. A job asked to cancel ends cancelled instead and the result is discarded.</summary>
    public static JobReplacement Complete(Job job, string leaseToken, JsonElement? result, DateTimeOffset now)
    {
        EnsureLease(job, leaseToken);
        if (job.CancelRequestedAt is not null)
        {
            return Cancelled(job, now, job.LeaseOwner, "the worker finished after a cancel was requested; its result is discarded");
        }

        var next = JobPatchApplier.WithStatus(job, JobStatus.Completed, now) with
        {
            Result = result is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } r ? r : null,
            Error = null,
            UpdatedAt = now,
            Version = job.Version + 1,
        };
        return Replace(job, next, StatusEvent(job, next, now, job.LeaseOwner, new StatusChange(job.Status, JobStatus.Completed)
        {
            Attempt = job.Attempt,
            Worker = job.LeaseOwner,
        }));
    }

    /// <summary>
    /// The attempt failed. With <paramref name="retryAfter"/> and attempts left, the job is queued again
    /// with attempt + 1 to run after that delay; otherwise it ends failed. A job asked to cancel ends cancelled.
    /// </summary>
    public static JobReplacement Fail(Job job, string leaseToken, JobError error, TimeSpan? retryAfter, DateTimeOffset now)
    {
        EnsureLease(job, leaseToken);
        if (job.CancelRequestedAt is not null)
        {
            return Cancelled(job, now, job.LeaseOwner, "the worker stopped after a cancel was requested");
        }

        return retryAfter is { } delay && job.Attempt < job.MaxAttempts
            ? Requeue(job, now, TimeMicros.Truncate(now + delay), job.LeaseOwner, "retry", error)
            : Failed(job, now, job.LeaseOwner, error);
    }

    /// <summary>The worker gives the job back unfinished (shutting down): queued again at once, the attempt not counted.</summary>
    public static JobReplacement Release(Job job, string leaseToken, DateTimeOffset now)
    {
        EnsureLease(job, leaseToken);
        if (job.CancelRequestedAt is not null)
        {
            return Cancelled(job, now, job.LeaseOwner, "the worker stopped after a cancel was requested");
        }

        // run_at stays as it was (in the past), so the job keeps its place at the front of the queue.
        var next = JobPatchApplier.WithStatus(job, JobStatus.Queued, now) with { UpdatedAt = now, Version = job.Version + 1 };
        return Replace(job, next,
            LeaseEvent(job, next, now, JobEventTypes.Released),
            StatusEvent(job, next, now, job.LeaseOwner, new StatusChange(job.Status, JobStatus.Queued) { Reason = "released", Attempt = next.Attempt, Worker = job.LeaseOwner }));
    }

    /// <summary>
    /// The lease holder stopped renewing (a worker died, hung or lost the store; an app that set the job running
    /// stopped updating it): back to the queue with attempt + 1 when something runs its type
    /// (<paramref name="canRun"/>) and attempts remain; otherwise failed (<c>lease_expired</c> once attempts are
    /// spent, <c>no_runner</c> when nothing runs its type); cancelled when a cancel was requested. Null when the
    /// lease is no longer the one found expired (renewed, or the job moved on): the check that makes reaping safe
    /// to run anywhere at once.
    /// </summary>
    public static JobReplacement? ExpireLease(Job job, string? expiredToken, DateTimeOffset now, bool canRun = true)
    {
        if (job.Status != JobStatus.Running || job.LeaseExpiresAt is not { } expires || expires > now
            || !string.Equals(job.LeaseToken, expiredToken, StringComparison.Ordinal))
        {
            return null;
        }

        var expired = LeaseEvent(job, job, now, JobEventTypes.LeaseExpired);
        JobReplacement replacement;
        if (job.CancelRequestedAt is not null)
        {
            replacement = Cancelled(job, now, "reaper", "the job did not stop within the cancel grace period");
        }
        else if (!canRun)
        {
            replacement = Failed(job, now, "reaper", new JobError
            {
                Code = JobErrorCodes.NoRunner,
                Message = $"'{job.LeaseOwner}' stopped renewing the lease of this job (it expired {expires:O}), and no handler or worker " +
                    $"runs '{job.Type}', so it was not queued again. Retry it once something runs '{job.Type}', or set it running again.",
            });
        }
        else if (job.Attempt < job.MaxAttempts)
        {
            replacement = Requeue(job, now, null, "reaper", "lease_expired", null);
        }
        else
        {
            replacement = Failed(job, now, "reaper", new JobError
            {
                Code = JobErrorCodes.LeaseExpired,
                Message = $"'{job.LeaseOwner}' stopped renewing its lease (expired {expires:O}) on the last of {job.MaxAttempts} attempts.",
            });
        }

        return replacement with { Events = [expired with { Version = replacement.Job.Version }, .. replacement.Events] };
    }

    /// <summary>
    /// The process that set this job running is shutting down cleanly with the job unfinished: queued again at once
    /// when something runs its type (the attempt not counted, as a worker's release), otherwise failed with
    /// <c>interrupted</c>; cancelled when a cancel was requested.
    /// </summary>
    public static JobReplacement DriverStopped(Job job, string leaseToken, bool canRun, DateTimeOffset now)
    {
        EnsureLease(job, leaseToken);
        if (canRun || job.CancelRequestedAt is not null)
        {
            return Release(job, leaseToken, now);
        }

        return Failed(job, now, job.LeaseOwner, new JobError
        {
            Code = JobErrorCodes.Interrupted,
            Message = $"The process driving this job ('{job.LeaseOwner}') shut down before it finished, and no handler or worker runs " +
                $"'{job.Type}'. Retry it to run it again.",
        });
    }

    /// <summary>
    /// Cancel: a queued or waiting job ends cancelled at once; a running one is asked to stop and its lease
    /// is cut to <paramref name="grace"/>, after which it ends cancelled whether or not its worker answers.
    /// Null when it is cancelled or being cancelled already.
    /// </summary>
    public static JobReplacement? Cancel(Job job, DateTimeOffset now, TimeSpan grace, string actor)
    {
        switch (job.Status)
        {
            case JobStatus.Cancelled:
                return null;
            case JobStatus.Completed or JobStatus.Failed:
                throw new JobStateConflictException(
                    $"Job '{job.Id}' is {job.Status.ToName()} already; a finished job cannot be cancelled. Delete it, or retry it if it failed.");
            case JobStatus.Running when job.LeaseExpiresAt is { } expires:
                if (job.CancelRequestedAt is not null)
                {
                    return null;
                }

                var deadline = TimeMicros.Truncate(now + grace < expires ? now + grace : expires);
                var next = job with { CancelRequestedAt = now, LeaseExpiresAt = deadline, UpdatedAt = now, Version = job.Version + 1 };
                return Replace(job, next, LeaseEvent(job, next, now, JobEventTypes.CancelRequested, actor));
            default:
                // Queued, waiting, or running without a lease (a row from before every running job had one): nothing to wait for.
                return Cancelled(job, now, actor, "cancelled");
        }
    }

    /// <summary>A failed or cancelled job is queued again with attempt + 1 and at least that one attempt allowed.</summary>
    public static JobReplacement Retry(Job job, DateTimeOffset now, string actor)
    {
        if (job.Status is not (JobStatus.Failed or JobStatus.Cancelled))
        {
            throw new JobStateConflictException(
                $"Job '{job.Id}' is {job.Status.ToName()}; only a failed or cancelled job can be retried.");
        }

        var attempt = job.Attempt + 1;
        var next = JobPatchApplier.WithStatus(job, JobStatus.Queued, now) with
        {
            Attempt = attempt,
            StartedAt = null,
            MaxAttempts = Math.Max(job.MaxAttempts, attempt),
            RunAt = now,
            UpdatedAt = now,
            Version = job.Version + 1,
        };
        var data = JsonSerializer.SerializeToElement(new StatusChange(job.Status, JobStatus.Queued) { Reason = "retried", Attempt = attempt },
            CoreJsonContext.Default.StatusChange);
        return Replace(job, next,
            JobPatchApplier.Event(job.Id, JobEventTypes.Retried, now, actor, next.Version, data),
            StatusEvent(job, next, now, actor, new StatusChange(job.Status, JobStatus.Queued) { Reason = "retried", Attempt = attempt }));
    }

    /// <summary>Throws <see cref="LeaseLostException"/> unless <paramref name="leaseToken"/> is the running job's current lease.</summary>
    public static void EnsureLease(Job job, string leaseToken)
    {
        if (job.Status == JobStatus.Running && job.LeaseToken is not null && string.Equals(job.LeaseToken, leaseToken, StringComparison.Ordinal))
        {
            return;
        }

        var reason = job.Status switch
        {
            JobStatus.Running when job.LeaseToken is null => "the job has no lease.",
            JobStatus.Running => "the job is held under another lease (this one expired and the job was claimed again, or the token is wrong).",
            JobStatus.Queued => "the job is back in the queue (its lease expired or it was released).",
            _ => $"the job is {job.Status.ToName()}.",
        };
        throw new LeaseLostException(job.Id, reason);
    }

    /// <summary>Back to the queue with attempt + 1: at <paramref name="runAt"/>, or when null at its old place (its earlier run_at).</summary>
    private static JobReplacement Requeue(Job job, DateTimeOffset now, DateTimeOffset? runAt, string? actor, string reason, JobError? error)
    {
        var next = JobPatchApplier.WithStatus(job, JobStatus.Queued, now) with
        {
            Attempt = job.Attempt + 1,
            StartedAt = null,
            RunAt = runAt ?? job.RunAt,
            Error = error ?? job.Error,
            UpdatedAt = now,
            Version = job.Version + 1,
        };
        return Replace(job, next, StatusEvent(job, next, now, actor, new StatusChange(job.Status, JobStatus.Queued)
        {
            Reason = reason,
            Attempt = next.Attempt,
            Worker = job.LeaseOwner,
            RunAt = next.RunAt,
            Error = error,
        }));
    }

    private static JobReplacement Failed(Job job, DateTimeOffset now, string? actor, JobError error)
    {
        var next = JobPatchApplier.WithStatus(job, JobStatus.Failed, now) with { Error = error, UpdatedAt = now, Version = job.Version + 1 };
        return Replace(job, next, StatusEvent(job, next, now, actor, new StatusChange(job.Status, JobStatus.Failed)
        {
            Attempt = job.Attempt,
            Worker = job.LeaseOwner,
            Error = error,
        }));
    }

    private static JobReplacement Cancelled(Job job, DateTimeOffset now, string? actor, string reason)
    {
        var next = JobPatchApplier.WithStatus(job, JobStatus.Cancelled, now) with { UpdatedAt = now, Version = job.Version + 1 };
        return Replace(job, next, StatusEvent(job, next, now, actor, new StatusChange(job.Status, JobStatus.Cancelled)
        {
            Reason = reason,
            Attempt = job.Attempt,
            Worker = job.LeaseOwner,
        }));
    }

    private static JobEvent StatusEvent(Job job, Job next, DateTimeOffset now, string? actor, StatusChange change) =>
        JobPatchApplier.Event(job.Id, JobEventTypes.StatusChanged, now, actor, next.Version,
            JsonSerializer.SerializeToElement(change, CoreJsonContext.Default.StatusChange));

    /// <summary>A lease event; its lease_expires_at is the lease after the change when one remains (a cancel cuts it), else the one that ended.</summary>
    private static JobEvent LeaseEvent(Job job, Job next, DateTimeOffset now, string type, string? actor = null) =>
        JobPatchApplier.Event(job.Id, type, now, actor ?? job.LeaseOwner, next.Version,
            JsonSerializer.SerializeToElement(new LeaseChange(job.LeaseOwner, job.Attempt, next.LeaseExpiresAt ?? job.LeaseExpiresAt),
                CoreJsonContext.Default.LeaseChange));

    /// <summary>
    /// A debounced create folds into the queued job with its key: the job takes the new input and runs no sooner than
    /// <paramref name="runAt"/> (a later run_at it had stays).
    /// </summary>
    public static JobReplacement Debounce(Job job, JsonElement? input, DateTimeOffset runAt, DateTimeOffset now, string? actor)
    {
        if (job.Status != JobStatus.Queued)
        {
            throw new JobStateConflictException($"Job '{job.Id}' is {job.Status.ToName()}; only a queued job takes a debounce.");
        }

        var next = job with
        {
            Input = input,
            RunAt = runAt > job.RunAt ? TimeMicros.Truncate(runAt) : job.RunAt,
            UpdatedAt = now,
            Version = job.Version + 1,
        };
        var data = JsonSerializer.SerializeToElement(new DebounceData(next.RunAt), CoreJsonContext.Default.DebounceData);
        return Replace(job, next, JobPatchApplier.Event(job.Id, JobEventTypes.Debounced, now, actor, next.Version, data)) with { InputChanged = true };
    }

    private static JobReplacement Replace(Job job, Job next, params JobEvent[] events) => StateChange.Of(job, next, events);
}
