using System.Text.Json;
using System.Text.Json.Serialization;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Source-generated JSON for everything the API writes: snake_case, ISO 8601 UTC timestamps, and
/// every field present (null when empty) so clients see one stable shape.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(Job))]
[JsonSerializable(typeof(JobListResponse))]
[JsonSerializable(typeof(JobEventListResponse))]
[JsonSerializable(typeof(CleanupResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(CreateJobRequest))]
[JsonSerializable(typeof(UpdateJobRequest))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Http.HttpValidationProblemDetails))]
public sealed partial class ApiJsonContext : JsonSerializerContext;

public sealed record JobListResponse(IReadOnlyList<Job> Items, string? NextCursor);

public sealed record JobEventListResponse(IReadOnlyList<JobEvent> Items, long? NextAfter);

public sealed record CleanupResponse(int DeletedCount, int RetentionDays, string Message);

public sealed record HealthResponse(
    string Status,
    HealthStore Store,
    long? JobsCount,
    IReadOnlyDictionary<string, long>? JobsByStatus,
    HealthCache Cache,
    long UptimeSeconds,
    string? Error);

public sealed record HealthStore(string Provider, string Location, int? SchemaVersion, long? SizeBytes);

public sealed record HealthCache(int Entries, long Hits, long Misses, double HitRate);

/// <summary>The body of <c>POST /api/v1/jobs</c> (documentation of the shape; parsing is field by field).</summary>
public sealed record CreateJobRequest
{
    /// <summary>The kind of work, e.g. "audio.analyze".</summary>
    public required string Type { get; init; }
    /// <summary>1–128 characters of A-Z a-z 0-9 . _ : - ; a UUIDv7 is generated when absent.</summary>
    public string? Id { get; init; }
    public JsonElement? Input { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public int? Priority { get; init; }
    public DateTimeOffset? RunAt { get; init; }
    public int? MaxAttempts { get; init; }
}

/// <summary>The body of <c>PATCH /api/v1/jobs/{id}</c>: JSON merge patch of these members.</summary>
public sealed record UpdateJobRequest
{
    public JobStatus? Status { get; init; }
    /// <summary>Members merge into the current progress; null clears a member.</summary>
    public JobProgress? Progress { get; init; }
    public JsonElement? Result { get; init; }
    public JobError? Error { get; init; }
    /// <summary>Merged into the current labels; a null value removes that label.</summary>
    public IReadOnlyDictionary<string, string?>? Labels { get; init; }
}
