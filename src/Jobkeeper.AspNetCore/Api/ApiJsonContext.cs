using System.Diagnostics.CodeAnalysis;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jobkeeper.Json;
using Jobkeeper.Model;
using Jobkeeper.Workers;

// System.Text.Json generates this context's JsonTypeInfo properties nullable-oblivious; they cannot be annotated.
[assembly: SuppressMessage("ApiDesign", "RS0041", Scope = "type", Target = "~T:Jobkeeper.AspNetCore.Api.ApiJsonContext")]

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

[Description("A page of jobs, newest first; pass `next_cursor` back as `cursor` for the next page (null on the last).")]
public sealed record JobListResponse(IReadOnlyList<Job> Items, string? NextCursor);

[Description("A page of a job's events, oldest first; `next_after` is the `after` of the next page (null on the last).")]
public sealed record JobEventListResponse(IReadOnlyList<JobEvent> Items, long? NextAfter);

[Description("What a cleanup deleted.")]
public sealed record CleanupResponse(int DeletedCount, int RetentionDays, string Message);

[Description("Store, counts and cache; `status` is `ok`, or `unavailable` / `corrupt` with `error` (then 503).")]
public sealed record HealthResponse(
    string Status,
    HealthStore Store,
    long? JobsCount,
    IReadOnlyDictionary<string, long>? JobsByStatus,
    HealthCache Cache,
    long UptimeSeconds,
    string? Error,
    HealthMaintenance Maintenance);

public sealed record HealthStore(string Provider, string Location, int? SchemaVersion, long? SizeBytes);

public sealed record HealthCache(int Entries, long Hits, long Misses, double HitRate);

/// <summary>Whether this instance runs maintenance (lease reaper, prompt expiry, retention) for its store.</summary>
public sealed record HealthMaintenance(bool Leader);

/// <summary>The body of <c>POST /api/v1/jobs</c> (documentation of the shape; parsing is field by field).</summary>
[Description("A new job. Unknown members are refused.")]
public sealed record CreateJobRequest
{
    [Description("The kind of work, e.g. \"audio.analyze\"; workers claim jobs by type.")]
    [StringLength(JobValidator.MaxTypeLength, MinimumLength = 1)]
    public required string Type { get; init; }
    [Description("The job's id; a time-ordered UUIDv7 is generated when absent. A second create with the same id is refused (409).")]
    [StringLength(JobIds.MaxLength, MinimumLength = 1)]
    [RegularExpression(JobIds.Pattern)]
    public string? Id { get; init; }
    [Description("Any JSON the job works on, handed to its worker as it is.")]
    public JsonElement? Input { get; init; }
    [Description("Up to 64 string labels to filter by (`label=key:value`).")]
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    [Description("Higher runs first among due jobs; default 0.")]
    public int? Priority { get; init; }
    [Description("Not claimed before this instant (ISO 8601); default now.")]
    public DateTimeOffset? RunAt { get; init; }
    [Description("How many attempts a worker gets before the job fails for good; default 3.")]
    [Range(1, JobValidator.MaxAttemptsLimit)]
    public int? MaxAttempts { get; init; }
}

/// <summary>The body of <c>PATCH /api/v1/jobs/{id}</c>: JSON merge patch of these members.</summary>
[Description("A JSON merge patch of the job: absent members stay as they are; `null` clears. Unknown members are refused.")]
public sealed record UpdateJobRequest
{
    [Description("The new status; only the moves of the state machine are allowed (409 otherwise).")]
    public JobStatus? Status { get; init; }
    [Description("Members merge into the current progress; null clears a member.")]
    public JobProgress? Progress { get; init; }
    [Description("Any JSON; replaces the result.")]
    public JsonElement? Result { get; init; }
    [Description("Replaces the error.")]
    public JobError? Error { get; init; }
    [Description("Merged into the current labels; a null value removes that label.")]
    public IReadOnlyDictionary<string, string?>? Labels { get; init; }
    /// <summary>
    /// 1–86400: the lease of a running job from now (how long it may go without an update before it is recovered).
    /// Without it, setting a job running gives it the app-driven default (30 min) and any update renews it for its length.
    /// </summary>
    [Description("The lease of a running job from now, in seconds: how long it may go without an update before it is recovered. "
        + "Without it, setting a job running gives it the default (30 min) and any update renews it for its length.")]
    [Range(1, 86_400)]
    public int? LeaseSeconds { get; init; }
}

/// <summary>What <c>POST /api/v1/workers/claim</c> returns: the claimed jobs, empty when the wait ran out.</summary>
[Description("The claimed jobs, each with its lease token; empty when the wait ran out.")]
public sealed record ClaimResponse(IReadOnlyList<WorkItem> Jobs);

/// <summary>The body of <c>POST /api/v1/workers/claim</c>.</summary>
[Description("A claim of due jobs by an external worker.")]
public sealed record ClaimJobsRequest
{
    [Description("Names this worker; recorded as the lease owner.")]
    [StringLength(JobValidator.MaxTypeLength, MinimumLength = 1)]
    public required string WorkerId { get; init; }
    [Description("The job types this worker runs (at least one).")]
    [MinLength(1)]
    public required IReadOnlyList<string> Types { get; init; }
    [Description("The most jobs to claim; default 1.")]
    [Range(1, WorkQueue.MaxClaim)]
    public int? Max { get; init; }
    [Description("The lease in seconds; default 30. Heartbeat before it runs out.")]
    [Range(1, 3600)]
    public int? LeaseSeconds { get; init; }
    [Description("How long to wait for work when none is due, in seconds; default 0.")]
    [Range(0.0, 30.0)]
    public double? WaitSeconds { get; init; }
}

/// <summary>The body of heartbeat and release.</summary>
[Description("The lease token the claim returned, and optionally a new lease length.")]
public sealed record LeaseRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }
    [Description("The lease runs this long from now, in seconds. Default: the length the claim asked for (or the last one given).")]
    [Range(1, 3600)]
    public int? LeaseSeconds { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/progress</c>: progress members (merged) and the lease token.</summary>
[Description("Progress members (merged into the job's progress) and the lease token; renews the lease.")]
public sealed record ProgressRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }
    [Description("The lease runs this long from now, in seconds. Default: the length the claim asked for (or the last one given).")]
    [Range(1, 3600)]
    public int? LeaseSeconds { get; init; }
    [Description("How far along, from 0 to 1.")]
    [Range(0.0, 1.0)]
    public double? Fraction { get; init; }
    [Description("The step the job is in, e.g. \"encode\".")]
    [StringLength(JobValidator.MaxTypeLength)]
    public string? Stage { get; init; }
    [Description("A line for people watching.")]
    [StringLength(JobValidator.MaxTextLength)]
    public string? Message { get; init; }
    [Description("Items done so far.")]
    [Range(0, long.MaxValue)]
    public long? Current { get; init; }
    [Description("Items in all.")]
    [Range(0, long.MaxValue)]
    public long? Total { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/complete</c>.</summary>
[Description("Finishes the attempt with a result.")]
public sealed record CompleteRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }
    [Description("Any JSON: the job's result.")]
    public JsonElement? Result { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/fail</c>: <c>retry</c> (default true) queues it again while attempts remain.</summary>
[Description("Fails the attempt; with `retry` (default true) the job is queued again after a backoff while attempts remain.")]
public sealed record FailRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }
    [Description("What went wrong.")]
    public required JobError Error { get; init; }
    [Description("False to fail the job for good now; default true.")]
    public bool? Retry { get; init; }
}

/// <summary>
/// What <c>POST /api/v1/jobs/{id}/prompt</c> returns: the job now waits on the prompt; or the key was answered
/// already (replay: the prompt with its answer); or the job ended instead (a cancel was requested: no prompt, status cancelled).
/// </summary>
[Description("The job now waits on the prompt; or the key was answered already (the prompt with its answer); or the job ended instead (a cancel was requested).")]
public sealed record PromptAskResponse(bool Waiting, JobPrompt? Prompt, JobStatus Status);

/// <summary>The body of <c>POST /api/v1/jobs/{id}/prompt/response</c>.</summary>
[Description("The answer to a waiting job's open prompt.")]
public sealed record AnswerPromptRequest
{
    [Description("One of the prompt's options, or JSON that satisfies its schema.")]
    public required JsonElement Answer { get; init; }
    [Description("How sure the one answering is, from 0 to 1.")]
    [Range(0.0, 1.0)]
    public double? Confidence { get; init; }
    [Description("Who answered (defaults to the X-Actor header). Behind API keys the key's name is recorded as who answered, and this only as `answered_by_display_name` beside it.")]
    [StringLength(JobActor.MaxNameLength)]
    public string? AnsweredBy { get; init; }
    [Description("Why this answer; defaults to the X-Reason header.")]
    [StringLength(JobActor.MaxReasonLength)]
    public string? Reason { get; init; }
    [Description("The prompt's key, to make sure the answer goes to the question it was meant for.")]
    [StringLength(PromptRules.MaxKeyLength)]
    public string? Key { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/prompt</c> (an external worker asks).</summary>
[Description("A question an external worker asks; the job waits for the answer (its lease ends).")]
public sealed record AskPromptRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }
    [Description("Names the question within the job; asking an answered key again returns its answer.")]
    [StringLength(PromptRules.MaxKeyLength, MinimumLength = 1)]
    public required string Key { get; init; }
    [Description("What to ask.")]
    [StringLength(PromptRules.MaxQuestionLength, MinimumLength = 1)]
    public required string Question { get; init; }
    [Description("The answers to choose from (or give `schema`).")]
    [MaxLength(PromptRules.MaxOptions)]
    public IReadOnlyList<string>? Options { get; init; }
    [Description("A JSON Schema the answer must satisfy (or give `options`).")]
    public JsonElement? Schema { get; init; }
    [Description("Seconds until the prompt expires (at most a year); no expiry when absent.")]
    [Range(0.001, 31_536_000.0)]
    public double? ExpiresInSeconds { get; init; }
    [Description("What expiry does: `fail` (default) fails the job, `default` answers with `default_answer`.")]
    [RegularExpression("^(fail|default)$")]
    public string? OnExpiry { get; init; }
    [Description("The answer used when the prompt expires with `on_expiry` `default`.")]
    public JsonElement? DefaultAnswer { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/checkpoint</c>.</summary>
[Description("Small JSON state saved on the job under the lease, so work before a question is not redone.")]
public sealed record CheckpointRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }
    [Description("Any JSON: the worker's state.")]
    public JsonElement? State { get; init; }
}
