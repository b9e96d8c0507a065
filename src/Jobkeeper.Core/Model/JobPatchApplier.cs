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
    /// <summary>The replacement to store, or null when the patch changes nothing.</summary>
    public static JobReplacement? Apply(Job current, JobPatch patch, DateTimeOffset now, string actor)
    {
        var next = current;
        var fields = new List<string>(4);
        var events = new List<JobEvent>(3);
        var version = current.Version + 1;

        if (patch.Status is { } status && status != current.Status)
        {
            JobStatusRules.EnsureCanMove(current.Id, current.Status, status);
            next = WithStatus(next, status, now);
            fields.Add("status");
            events.Add(Event(current.Id, JobEventTypes.StatusChanged, now, actor, version,
                JsonSerializer.SerializeToElement(new StatusChange(current.Status, status), CoreJsonContext.Default.StatusChange)));
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
            return null;
        }

        next = next with { Version = version, UpdatedAt = now };
        events.Add(Event(current.Id, JobEventTypes.Updated, now, actor, version,
            JsonSerializer.SerializeToElement(
                new UpdatedFields(fields, fields.Contains("progress") ? next.Progress : null),
                CoreJsonContext.Default.UpdatedFields)));
        return new JobReplacement(next, current.Version, events, labelsChanged);
    }

    /// <summary>Applies the side effects a status carries: start and completion times, the lease.</summary>
    public static Job WithStatus(Job job, JobStatus status, DateTimeOffset now) => status switch
    {
        JobStatus.Running => job with { Status = status, StartedAt = now, CompletedAt = null },
        JobStatus.Queued => job with { Status = status, CompletedAt = null, LeaseOwner = null, LeaseExpiresAt = null, LeaseToken = null, CancelRequestedAt = null },
        JobStatus.Waiting => job with { Status = status, LeaseOwner = null, LeaseExpiresAt = null, LeaseToken = null },
        _ => job with { Status = status, CompletedAt = now, LeaseOwner = null, LeaseExpiresAt = null, LeaseToken = null },
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
