using System.Text.Json;

namespace Jobkeeper.Model;

/// <summary>
/// One unit of long-running work. Immutable: every change produces a new instance with a higher
/// <see cref="Version"/>, so a cached job can be handed to many readers without copying.
/// </summary>
public sealed record Job
{
    public required string Id { get; init; }
    public required string Type { get; init; }
    /// <summary>The queue the job waits in (<see cref="JobQueues.Default"/> unless given at creation); set once.</summary>
    public string Queue { get; init; } = JobQueues.Default;
    public required JobStatus Status { get; init; }
    public int Priority { get; init; }
    public JsonElement? Input { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = EmptyLabels;
    public JobProgress? Progress { get; init; }
    public JsonElement? Result { get; init; }
    public JobError? Error { get; init; }
    /// <summary>Which attempt this is (or will be), from 1; a retry queues the job again with attempt + 1.</summary>
    public int Attempt { get; init; } = 1;
    public int MaxAttempts { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public required DateTimeOffset RunAt { get; init; }
    public string? LeaseOwner { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
    /// <summary>
    /// How far a renewal moves <see cref="LeaseExpiresAt"/> ahead: the length the claim asked for (or the last
    /// <c>lease_seconds</c> given), or the app-driven lease of a job set running through an update.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan? LeaseDuration { get; init; }
    /// <summary>Fencing token of the current lease; never sent to readers, only to the lease holder.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? LeaseToken { get; init; }
    /// <summary>When someone asked a running job to stop; its worker is told and it ends <c>cancelled</c>.</summary>
    public DateTimeOffset? CancelRequestedAt { get; init; }
    /// <summary>Questions this job asked, answered or open, oldest first.</summary>
    public IReadOnlyList<JobPrompt> Prompts { get; init; } = [];
    /// <summary>Small JSON state a handler saves so that work before a question is not redone when it runs again.</summary>
    public JsonElement? Checkpoint { get; init; }
    /// <summary>
    /// The W3C trace context of the request that created the job (<c>00-{trace id}-{span id}-{flags}</c>), or null when it was
    /// created outside any trace. The claim, the run and the worker's calls are spans of that trace. Set once, at creation.
    /// </summary>
    public string? Traceparent { get; init; }
    public required long Version { get; init; }

    /// <summary>The key that made the job's create idempotent (<see cref="NewJob.UniqueKey"/>, or the <c>Idempotency-Key</c>); set once, at creation.</summary>
    public string? UniqueKey { get; init; }

    /// <summary>
    /// True only on the answer to a create that found this job already there (its unique key blocked a new one, or a debounce
    /// folded into it): nothing was added. Never stored; null otherwise.
    /// </summary>
    public bool? Existing { get; init; }

    /// <summary>
    /// Why this queued, due job is not being claimed (<see cref="JobBlockedBy"/>): its queue or type is paused, or a limit of its
    /// queue binds. Worked out when the job is read, from its queue's settings and state; never stored. Null otherwise.
    /// </summary>
    public string? BlockedBy { get; init; }

    /// <summary>The open prompt of a waiting job, if any.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public JobPrompt? OpenPrompt => Status == JobStatus.Waiting ? Prompts.LastOrDefault(p => p.IsOpen) : null;

    public static IReadOnlyDictionary<string, string> EmptyLabels { get; } =
        new Dictionary<string, string>(0, StringComparer.Ordinal);
}
