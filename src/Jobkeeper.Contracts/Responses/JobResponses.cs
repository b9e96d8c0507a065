using System.ComponentModel;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>What <c>GET /api/v1/jobs</c> returns.</summary>
[Description("A page of jobs, newest first; pass `next_cursor` back as `cursor` for the next page (null on the last).")]
public sealed record JobListResponse(IReadOnlyList<Job> Items, string? NextCursor);

/// <summary>What <c>GET /api/v1/jobs/{id}/events</c> returns.</summary>
[Description("A page of a job's events, oldest first; `next_after` is the `after` of the next page (null on the last).")]
public sealed record JobEventListResponse(IReadOnlyList<JobEvent> Items, long? NextAfter);

/// <summary>What <c>DELETE /api/v1/jobs/cleanup</c> returns.</summary>
[Description("What a cleanup deleted.")]
public sealed record CleanupResponse(int DeletedCount, int RetentionDays, string Message);

/// <summary>What <c>POST /api/v1/workers/claim</c> returns: the claimed jobs, empty when the wait ran out.</summary>
[Description("The claimed jobs, each with its lease token; empty when the wait ran out.")]
public sealed record ClaimResponse(IReadOnlyList<WorkItem> Jobs);

/// <summary>
/// What <c>POST /api/v1/jobs/{id}/prompt</c> returns: the job now waits on the prompt; or the key was answered
/// already (replay: the prompt with its answer); or the job ended instead (a cancel was requested: no prompt, status cancelled).
/// </summary>
[Description("The job now waits on the prompt; or the key was answered already (the prompt with its answer); or the job ended instead (a cancel was requested).")]
public sealed record PromptAskResponse(bool Waiting, JobPrompt? Prompt, JobStatus Status);

/// <summary>What <c>POST /api/v1/jobs/bulk</c> returns.</summary>
[Description("`matched` jobs matched the filter; `changed` of them were changed (none on a dry run). The rest were skipped: their status does not allow the action, or they changed meanwhile.")]
public sealed record BulkActionResponse(string Action, bool DryRun, long Matched, long Changed, long Skipped);

/// <summary>What <c>GET /api/v1/workers</c> returns.</summary>
[Description("The workers heard from in the last `within_seconds` seconds and those holding running jobs, most recently seen first.")]
public sealed record WorkerListResponse(IReadOnlyList<WorkerInfo> Items, int WithinSeconds);
