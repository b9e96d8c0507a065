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
[JsonSerializable(typeof(ClaimResponse))]
[JsonSerializable(typeof(LeaseResponse))]
[JsonSerializable(typeof(JobPrompt))]
[JsonSerializable(typeof(StreamEvent))]
[JsonSerializable(typeof(PromptAskResponse))]
[JsonSerializable(typeof(AnswerPromptRequest))]
[JsonSerializable(typeof(AskPromptRequest))]
[JsonSerializable(typeof(CheckpointRequest))]
[JsonSerializable(typeof(ClaimJobsRequest))]
[JsonSerializable(typeof(LeaseRequest))]
[JsonSerializable(typeof(ProgressRequest))]
[JsonSerializable(typeof(CompleteRequest))]
[JsonSerializable(typeof(FailRequest))]
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
    /// <summary>
    /// 1–86400: the lease of a running job from now (how long it may go without an update before it is recovered).
    /// Without it, setting a job running gives it the app-driven default (30 min) and any update renews it for its length.
    /// </summary>
    public int? LeaseSeconds { get; init; }
}

/// <summary>What <c>POST /api/v1/workers/claim</c> returns: the claimed jobs, empty when the wait ran out.</summary>
public sealed record ClaimResponse(IReadOnlyList<WorkItem> Jobs);

/// <summary>The body of <c>POST /api/v1/workers/claim</c>.</summary>
public sealed record ClaimJobsRequest
{
    /// <summary>Names this worker; recorded as the lease owner.</summary>
    public required string WorkerId { get; init; }
    /// <summary>The job types this worker runs (at least one).</summary>
    public required IReadOnlyList<string> Types { get; init; }
    /// <summary>1–1000 jobs at most; default 1.</summary>
    public int? Max { get; init; }
    /// <summary>1–3600; default 30. Heartbeat before it runs out.</summary>
    public int? LeaseSeconds { get; init; }
    /// <summary>0–30: how long to wait for work when none is due; default 0.</summary>
    public double? WaitSeconds { get; init; }
}

/// <summary>The body of heartbeat and release.</summary>
public sealed record LeaseRequest
{
    public required string LeaseToken { get; init; }
    /// <summary>1–3600: the lease runs this long from now. Default: the length the claim asked for (or the last one given).</summary>
    public int? LeaseSeconds { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/progress</c>: progress members (merged) and the lease token.</summary>
public sealed record ProgressRequest
{
    public required string LeaseToken { get; init; }
    /// <summary>1–3600: the lease runs this long from now. Default: the length the claim asked for (or the last one given).</summary>
    public int? LeaseSeconds { get; init; }
    public double? Fraction { get; init; }
    public string? Stage { get; init; }
    public string? Message { get; init; }
    public long? Current { get; init; }
    public long? Total { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/complete</c>.</summary>
public sealed record CompleteRequest
{
    public required string LeaseToken { get; init; }
    public JsonElement? Result { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/fail</c>: <c>retry</c> (default true) queues it again while attempts remain.</summary>
public sealed record FailRequest
{
    public required string LeaseToken { get; init; }
    public required JobError Error { get; init; }
    public bool? Retry { get; init; }
}

/// <summary>
/// What <c>POST /api/v1/jobs/{id}/prompt</c> returns: the job now waits on the prompt; or the key was answered
/// already (replay: the prompt with its answer); or the job ended instead (a cancel was requested: no prompt, status cancelled).
/// </summary>
public sealed record PromptAskResponse(bool Waiting, JobPrompt? Prompt, JobStatus Status);

/// <summary>The body of <c>POST /api/v1/jobs/{id}/prompt/response</c>.</summary>
public sealed record AnswerPromptRequest
{
    /// <summary>One of the prompt's options, or JSON that satisfies its schema.</summary>
    public required JsonElement Answer { get; init; }
    /// <summary>0–1.</summary>
    public double? Confidence { get; init; }
    /// <summary>
    /// Who answered (defaults to the X-Actor header). Behind API keys the key's name is recorded as who answered,
    /// and this only as <c>answered_by_display_name</c> beside it.
    /// </summary>
    public string? AnsweredBy { get; init; }
    /// <summary>Why this answer; defaults to the X-Reason header.</summary>
    public string? Reason { get; init; }
    /// <summary>The prompt's key, to make sure the answer goes to the question it was meant for.</summary>
    public string? Key { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/prompt</c> (an external worker asks).</summary>
public sealed record AskPromptRequest
{
    public required string LeaseToken { get; init; }
    public required string Key { get; init; }
    public required string Question { get; init; }
    public IReadOnlyList<string>? Options { get; init; }
    public JsonElement? Schema { get; init; }
    public double? ExpiresInSeconds { get; init; }
    /// <summary>"fail" (default) or "default" (then default_answer is used).</summary>
    public string? OnExpiry { get; init; }
    public JsonElement? DefaultAnswer { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/checkpoint</c>.</summary>
public sealed record CheckpointRequest
{
    public required string LeaseToken { get; init; }
    public JsonElement? State { get; init; }
}
