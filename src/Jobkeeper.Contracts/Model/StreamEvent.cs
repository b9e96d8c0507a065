using System.Text.Json;

namespace Jobkeeper.Model;

/// <summary>One Server-Sent Event's data: the job event, with its job's type and status after it.</summary>
public sealed record StreamEvent
{
    public long Id { get; init; }
    public string? JobId { get; init; }
    public required string Type { get; init; }
    public DateTimeOffset? At { get; init; }
    public string? Actor { get; init; }
    public string? DisplayName { get; init; }
    public string? Reason { get; init; }
    public long? Version { get; init; }
    public JsonElement? Data { get; init; }
    public string? JobType { get; init; }
    public JobStatus? JobStatus { get; init; }
    /// <summary>On <c>overflow</c>: what to do now.</summary>
    public string? Message { get; init; }

    public static StreamEvent From(JobEvent e, string? jobType, JobStatus? jobStatus) => new()
    {
        Id = e.Id,
        JobId = e.JobId,
        Type = e.Type,
        At = e.At,
        Actor = e.Actor,
        DisplayName = e.DisplayName,
        Reason = e.Reason,
        Version = e.Version,
        Data = e.Data,
        JobType = jobType,
        JobStatus = jobStatus,
    };

    public static StreamEvent Overflow(long lastId) => new()
    {
        Id = lastId,
        Type = "overflow",
        Message = $"This client fell too far behind and was disconnected. Reconnect with Last-Event-ID: {lastId} to resume without gaps.",
    };
}
