using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Json;
using Jobkeeper.Storage;

namespace Jobkeeper.Model;

/// <summary>
/// Human in the loop as pure functions: a running job asks (and waits, holding no worker), a person
/// answers (and the job is queued to run again), or the question expires (failing the job or continuing
/// with a default). Each is compare-and-set on the job's version, so exactly one of a racing answer and
/// expiry wins, and a prompt is answered once.
/// </summary>
public static class PromptTransitions
{
    /// <summary>The lease holder asks <paramref name="prompt"/>: the job becomes <c>waiting</c> and its lease ends; the attempt is not counted as used.</summary>
    public static JobReplacement Ask(Job job, string leaseToken, JobPrompt prompt, DateTimeOffset now)
    {
        JobTransitions.EnsureLease(job, leaseToken);
        var earlier = job.Prompts.FirstOrDefault(p => p.Key == prompt.Key);
        if (earlier is { IsOpen: false })
        {
            throw new JobStateConflictException($"Job '{job.Id}' has asked '{prompt.Key}' already and it was answered; its answer is in the job's prompts.");
        }

        if (job.CancelRequestedAt is not null)
        {
            return JobTransitions.Fail(job, leaseToken, new JobError { Code = "cancelled", Message = "The job was cancelled." }, null, now);
        }

        var asked = prompt with { AskedAt = now, AskedBy = prompt.AskedBy ?? job.LeaseOwner };
        var next = JobPatchApplier.WithStatus(job, JobStatus.Waiting, now) with
        {
            // An earlier unanswered ask of this key (it expired and the job failed, or was cancelled, then retried) is asked anew.
            Prompts = [.. job.Prompts.Where(p => p.Key != prompt.Key), asked],
            UpdatedAt = now,
            Version = job.Version + 1,
        };
        return StateChange.Of(job, next,
        [
            PromptEvent(next, JobEventTypes.PromptAsked, now, asked.AskedBy, asked),
            StatusEvent(job, next, now, asked.AskedBy, "prompt"),
        ]);
    }

    /// <summary>
    /// Records the answer to the open prompt and queues the job to run again (it keeps its place). Refused
    /// (409) when the job is not waiting on an open prompt, or when <paramref name="key"/> names another.
    /// The answer must already have been checked against the prompt's options or schema.
    /// </summary>
    public static JobReplacement Answer(Job job, string? key, JsonElement answer, double? confidence, JobActor? answeredBy, string? reason, DateTimeOffset now)
    {
        var open = OpenPromptOrThrow(job, key);
        var answered = open with
        {
            Answer = answer,
            Confidence = confidence,
            AnsweredBy = answeredBy?.Name,
            AnsweredByDisplayName = answeredBy?.DisplayName,
            AnsweredAt = now,
            Reason = reason,
        };
        return Settle(job, open, answered, JobStatus.Queued, now, answeredBy?.Name, JobEventTypes.PromptAnswered, "answered");
    }

    /// <summary>
    /// The open prompt <paramref name="key"/> ran out of time: the job fails (<c>prompt_expired</c>) or continues
    /// with the default answer. Null when that prompt is no longer open or not yet expired (an answer won).
    /// </summary>
    public static JobReplacement? Expire(Job job, string key, DateTimeOffset now)
    {
        if (job.OpenPrompt is not { } open || open.Key != key || open.ExpiresAt is not { } expires || expires > now)
        {
            return null;
        }

        if (open.OnExpiry == PromptExpiry.Default)
        {
            var defaulted = open with
            {
                Answer = open.DefaultAnswer,
                AnsweredBy = "expiry",
                AnsweredAt = now,
                Reason = "no answer before the prompt expired; the default answer was used",
                Expired = true,
            };
            return Settle(job, open, defaulted, JobStatus.Queued, now, "expiry", JobEventTypes.PromptExpired, "prompt expired; default answer");
        }

        var error = new JobError { Code = "prompt_expired", Message = $"Nobody answered '{open.Key}' before it expired at {expires:O}." };
        return Settle(job with { Error = error }, open, open with { Expired = true }, JobStatus.Failed, now, "expiry", JobEventTypes.PromptExpired, "prompt expired");
    }

    /// <summary>Replaces the open prompt with its settled form and moves the job on (queued to resume, or failed), with the events that record it.</summary>
    private static JobReplacement Settle(Job job, JobPrompt open, JobPrompt settled, JobStatus status, DateTimeOffset now, string? actor, string eventType, string reason)
    {
        var next = JobPatchApplier.WithStatus(job, status, now) with
        {
            Prompts = Replace(job.Prompts, open, settled),
            UpdatedAt = now,
            Version = job.Version + 1,
        };
        return StateChange.Of(job, next,
        [
            PromptEvent(next, eventType, now, actor, settled),
            StatusEvent(job, next, now, actor, reason),
        ]);
    }

    /// <summary>The lease holder saves its checkpoint (small JSON state, replaced whole).</summary>
    public static JobReplacement? SaveCheckpoint(Job job, string leaseToken, JsonElement? state, DateTimeOffset now)
    {
        JobTransitions.EnsureLease(job, leaseToken);
        var value = state is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } s ? s : (JsonElement?)null;
        if (value is null && job.Checkpoint is null)
        {
            return null;
        }

        return StateChange.Of(job, job with { Checkpoint = value, UpdatedAt = now, Version = job.Version + 1 }, []);
    }

    /// <summary>The open prompt, or 409 saying why there is none to answer.</summary>
    public static JobPrompt OpenPromptOrThrow(Job job, string? key)
    {
        if (job.OpenPrompt is not { } open)
        {
            var last = job.Prompts.Count > 0 ? job.Prompts[^1] : null;
            throw new JobStateConflictException(job.Status == JobStatus.Waiting || last is null
                ? $"Job '{job.Id}' has no open prompt to answer (it is {job.Status.ToName()})."
                : $"Job '{job.Id}' has no open prompt: '{last.Key}' was answered already{(last.AnsweredBy is { } by ? " by " + by : "")}; it is {job.Status.ToName()} now.");
        }

        if (key is not null && key != open.Key)
        {
            throw new JobStateConflictException($"Job '{job.Id}' is waiting on '{open.Key}', not '{key}'.");
        }

        return open;
    }

    private static IReadOnlyList<JobPrompt> Replace(IReadOnlyList<JobPrompt> prompts, JobPrompt old, JobPrompt updated) =>
        prompts.Select(p => ReferenceEquals(p, old) ? updated : p).ToArray();

    private static JobEvent PromptEvent(Job next, string type, DateTimeOffset now, string? actor, JobPrompt prompt) =>
        JobPatchApplier.Event(next.Id, type, now, actor, next.Version, JsonSerializer.SerializeToElement(prompt, CoreJsonContext.Default.JobPrompt));

    private static JobEvent StatusEvent(Job job, Job next, DateTimeOffset now, string? actor, string reason) =>
        JobPatchApplier.Event(job.Id, JobEventTypes.StatusChanged, now, actor, next.Version,
            JsonSerializer.SerializeToElement(new StatusChange(job.Status, next.Status) { Reason = reason, Attempt = next.Attempt }, CoreJsonContext.Default.StatusChange));
}
