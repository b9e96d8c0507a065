using System.Text.Json;
using Jobkeeper.Json;
using Jobkeeper.Storage;

namespace Jobkeeper.Model;

/// <summary>
/// Turns a patch into the next state of a job plus the events that record it. Pure: the caller
/// supplies the current state and the time, and the store applies the result compare-and-set.
/// </summary>
public static class JobPatchApplier
{
    /// <summary>
    /// The replacement to store, or null when the patch changes nothing. With <paramref name="lease"/> (an app's
    /// update, not a worker's) a patch that sets the job running gives it that lease, and any patch of a running job
    /// renews its lease: an app that drives a job keeps it alive by updating it. Without, the patch may not set a job
    /// running (workers start jobs by claiming them).
    /// </summary>
    public static JobReplacement? Apply(Job current, JobPatch patch, DateTimeOffset now, string actor, AppLease? lease = null)
    {
        var next = current;
        var fields = new List<string>(4);
        var events = new List<JobEvent>(3);
        var version = current.Version + 1;

        if (patch.Status is { } status && status != current.Status)
        {
            JobStatusRules.EnsureCanMove(current.Id, current.Status, status);
            if (status == JobStatus.Waiting)
            {
                // Waiting means waiting on a person's answer: with no question asked nothing could ever resume it.
                throw new Errors.JobStateConflictException(
                    $"Job '{current.Id}' cannot be set waiting by an update: a job waits when its handler or worker asks a question " +
                    "(POST /api/v1/jobs/{id}/prompt, or AskAsync), and resumes when it is answered.");
            }

            next = WithStatus(next, status, now);
            string? owner = null;
            if (status == JobStatus.Running)
            {
                if (lease is null)
                {
                    throw new InvalidOperationException("A patch that sets a job running needs the lease to give it.");
                }

                // Every way into running gives the job an owner and a lease, so a job whose driver dies is recovered.
                owner = lease.Owner;
                var length = patch.Lease ?? lease.Duration;
                next = next with
                {
                    LeaseOwner = lease.Owner,
                    LeaseToken = lease.Token,
                    LeaseDuration = length,
                    LeaseExpiresAt = TimeMicros.Truncate(now + length),
                    CancelRequestedAt = null,
                };
            }

            fields.Add("status");
            events.Add(Event(current.Id, JobEventTypes.StatusChanged, now, actor, version,
                JsonSerializer.SerializeToElement(new StatusChange(current.Status, status) { Worker = owner }, CoreJsonContext.Default.StatusChange)));
        }

        var leaseMoved = false;
        if (patch.Lease is { } requested && next.Status != JobStatus.Running)
        {
            throw patch.Status is { } to && to != current.Status
                ? new Errors.JobValidationException("lease_seconds",
                    $"sets the lease of a running job; this update moves the job to '{to.ToName()}'. Leave lease_seconds out.")
                : new Errors.JobStateConflictException(
                    $"Job '{current.Id}' is {current.Status.ToName()}; lease_seconds sets the lease of a running job. " +
                    "Send \"status\": \"running\" with it to start the job.");
        }

        if (lease is not null && current.Status == JobStatus.Running && next.Status == JobStatus.Running)
        {
            // An update of a running job is a sign of life: renew for its own length, or set the length given.
            var renewed = patch.Lease is { } length && current.CancelRequestedAt is null
                ? current with { LeaseDuration = length, LeaseExpiresAt = TimeMicros.Truncate(now + length) }
                : JobTransitions.Renewal(current, null, now);
            if (renewed is not null && (renewed.LeaseExpiresAt != current.LeaseExpiresAt || renewed.LeaseDuration != current.LeaseDuration))
            {
                next = next with
                {
                    LeaseExpiresAt = renewed.LeaseExpiresAt,
                    LeaseDuration = renewed.LeaseDuration,
                    // A row from before every running job had a lease gets an owner and a token now.
                    LeaseOwner = current.LeaseOwner ?? lease.Owner,
                    LeaseToken = current.LeaseToken ?? lease.Token,
                };
                leaseMoved = true;
            }
        }

        if (patch.Progress is { } progressPatch)
        {
            if (next.Status.IsTerminal() && current.Status.IsTerminal())
            {
                throw new Errors.JobStateConflictException(
                    $"Job '{current.Id}' is {current.Status.ToName()}; the progress of a finished job cannot change.");
            }

            var progress = progressPatch.ApplyTo(current.Progress);
            if (progress != current.Progress)
            {
                next = next with { Progress = progress };
                fields.Add("progress");
                if (progress.Stage != current.Progress?.Stage)
                {
                    events.Add(Event(current.Id, JobEventTypes.StageChanged, now, actor, version,
                        JsonSerializer.SerializeToElement(new StageChange(current.Progress?.Stage, progress.Stage), CoreJsonContext.Default.StageChange)));
                }
            }
        }

        if (patch.Result.HasValue && !JsonEquals(patch.Result.Value, current.Result))
        {
            next = next with { Result = patch.Result.Value is { ValueKind: not JsonValueKind.Null } r ? r : null };
            fields.Add("result");
        }

        if (patch.Error.HasValue && patch.Error.Value != current.Error)
        {
            next = next with { Error = patch.Error.Value };
            fields.Add("error");
        }

        var labelsChanged = false;
        if (patch.Labels is { Count: > 0 } labelPatch)
        {
            var merged = new Dictionary<string, string>(current.Labels, StringComparer.Ordinal);
            foreach (var (key, value) in labelPatch)
            {
                if (value is null)
                {
                    labelsChanged |= merged.Remove(key);
                }
                else if (!merged.TryGetValue(key, out var old) || old != value)
                {
                    merged[key] = value;
                    labelsChanged = true;
                }
            }

            if (labelsChanged)
            {
                JobValidator.ValidateLabels(merged!);
                next = next with { Labels = merged };
                fields.Add("labels");
            }
        }

        if (fields.Count == 0)
        {
            // Only the lease moved: a renewal, recorded like a heartbeat (no event).
            return leaseMoved ? StateChange.Of(current, next with { Version = version, UpdatedAt = now }, []) : null;
        }

        next = next with { Version = version, UpdatedAt = now };
        events.Add(Event(current.Id, JobEventTypes.Updated, now, actor, version,
            JsonSerializer.SerializeToElement(
                new UpdatedFields(fields, fields.Contains("progress") ? next.Progress : null),
                CoreJsonContext.Default.UpdatedFields)));
        return StateChange.Of(current, next, events, labelsChanged);
    }

    /// <summary>Applies the side effects a status carries: start and completion times, the lease.</summary>
    public static Job WithStatus(Job job, JobStatus status, DateTimeOffset now) => status switch
    {
        JobStatus.Running => job with { Status = status, StartedAt = now, CompletedAt = null },
        JobStatus.Queued => job with
        {
            Status = status, CompletedAt = null, LeaseOwner = null, LeaseExpiresAt = null, LeaseToken = null, LeaseDuration = null, CancelRequestedAt = null,
        },
        JobStatus.Waiting => job with { Status = status, LeaseOwner = null, LeaseExpiresAt = null, LeaseToken = null, LeaseDuration = null },
        _ => job with { Status = status, CompletedAt = now, LeaseOwner = null, LeaseExpiresAt = null, LeaseToken = null, LeaseDuration = null },
    };

    public static JobEvent Event(string jobId, string type, DateTimeOffset at, string? actor, long version, JsonElement? data) =>
        new() { JobId = jobId, Type = type, At = at, Actor = actor, Version = version, Data = data };

    private static bool JsonEquals(JsonElement? a, JsonElement? b)
    {
        var aNull = a is null || a.Value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;
        var bNull = b is null || b.Value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;
        if (aNull || bNull)
        {
            return aNull == bNull;
        }

        return JsonElement.DeepEquals(a!.Value, b!.Value);
    }
}
