using System.Text.Json;

namespace Jobkeeper.Model;

/// <summary>A claimed job as its worker needs it, with the lease token every later call must carry.</summary>
public sealed record WorkItem
{
    public required string Id { get; init; }
    public required string Type { get; init; }
    public string Queue { get; init; } = JobQueues.Default;
    public JsonElement? Input { get; init; }
    public required IReadOnlyDictionary<string, string> Labels { get; init; }
    public int Priority { get; init; }
    public int Attempt { get; init; }
    public int MaxAttempts { get; init; }
    public JobProgress? Progress { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset RunAt { get; init; }
    public long Version { get; init; }
    public required string LeaseToken { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
    /// <summary>Questions asked in earlier attempts, with their answers: ask the same key again to get its answer.</summary>
    public required IReadOnlyList<JobPrompt> Prompts { get; init; }
    public JsonElement? Checkpoint { get; init; }
    /// <summary>
    /// The job's trace context (<see cref="Job.Traceparent"/>): a worker sends it as the <c>traceparent</c> header of its calls
    /// about this job (or the context of its own span under it), so they join the job's trace.
    /// </summary>
    public string? Traceparent { get; init; }

    public static WorkItem From(Job job) => new()
    {
        Id = job.Id,
        Type = job.Type,
        Queue = job.Queue,
        Input = job.Input,
        Labels = job.Labels,
        Priority = job.Priority,
        Attempt = job.Attempt,
        MaxAttempts = job.MaxAttempts,
        Progress = job.Progress,
        CreatedAt = job.CreatedAt,
        RunAt = job.RunAt,
        Version = job.Version,
        LeaseToken = job.LeaseToken ?? throw new InvalidOperationException("A claimed job carries its lease token."),
        LeaseExpiresAt = job.LeaseExpiresAt,
        Prompts = job.Prompts,
        Checkpoint = job.Checkpoint,
        Traceparent = job.Traceparent,
    };
}
