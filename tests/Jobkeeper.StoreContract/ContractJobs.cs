using System.Text.Json;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.StoreContract;

/// <summary>Builds jobs and events for the contract tests.</summary>
public static class ContractJobs
{
    public static readonly DateTimeOffset T0 = TimeMicros.Truncate(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero).AddTicks(1_234_560));

    public static Job New(string id, DateTimeOffset? createdAt = null, string type = "audio.analyze",
        JobStatus status = JobStatus.Queued, IReadOnlyDictionary<string, string>? labels = null)
    {
        var at = createdAt ?? T0;
        return new Job
        {
            Id = id,
            Type = type,
            Status = status,
            CreatedAt = at,
            UpdatedAt = at,
            RunAt = at,
            MaxAttempts = 3,
            Labels = labels ?? Job.EmptyLabels,
            CompletedAt = status.IsTerminal() ? at : null,
            Version = 1,
        };
    }

    public static JobEvent Created(Job job) =>
        new() { JobId = job.Id, Type = JobEventTypes.Created, At = job.CreatedAt, Actor = "test", Version = job.Version };

    public static JobEvent Updated(Job job, string actor = "test") =>
        new()
        {
            JobId = job.Id,
            Type = JobEventTypes.Updated,
            At = job.UpdatedAt,
            Actor = actor,
            Version = job.Version,
            Data = JsonDocument.Parse("{\"fields\":[\"status\"]}").RootElement,
        };

    public static JsonElement ParseJson(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
