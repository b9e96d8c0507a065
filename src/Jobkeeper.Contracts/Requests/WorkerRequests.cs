using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>The body of <c>POST /api/v1/workers/claim</c>.</summary>
[Description("A claim of due jobs by an external worker.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ClaimJobsRequest
{
    [Description("Names this worker; recorded as the lease owner.")]
    [StringLength(JobLimits.MaxTypeLength, MinimumLength = 1)]
    public required string WorkerId { get; init; }

    [Description("The job types this worker runs; with `queues`, only jobs of these types in those queues. Give `types`, `queues` or both.")]
    public IReadOnlyList<string>? Types { get; init; }

    [Description("The queues this worker takes jobs from (any type, unless `types` narrows it). Give `types`, `queues` or both.")]
    public IReadOnlyList<string>? Queues { get; init; }

    [Description("The most jobs to claim; default 1.")]
    [Range(1, JobLimits.MaxClaim)]
    public int? Max { get; init; }

    [Description("The lease in seconds; default 30. Heartbeat before it runs out.")]
    [Range(JobLimits.MinLeaseSeconds, JobLimits.MaxLeaseSeconds)]
    public int? LeaseSeconds { get; init; }

    [Description("How long to wait for work when none is due, in seconds; default 0.")]
    [Range(0.0, JobLimits.MaxWaitSeconds)]
    public double? WaitSeconds { get; init; }
}

/// <summary>The body of heartbeat and release.</summary>
[Description("The lease token the claim returned, and optionally a new lease length.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record LeaseRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }

    [Description("The lease runs this long from now, in seconds. Default: the length the claim asked for (or the last one given).")]
    [Range(JobLimits.MinLeaseSeconds, JobLimits.MaxLeaseSeconds)]
    public int? LeaseSeconds { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/progress</c>: progress members (merged) and the lease token.</summary>
[Description("Progress members (merged into the job's progress; null clears one) and the lease token; renews the lease.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ProgressRequest : ProgressUpdate
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }

    [Description("The lease runs this long from now, in seconds. Default: the length the claim asked for (or the last one given).")]
    [Range(JobLimits.MinLeaseSeconds, JobLimits.MaxLeaseSeconds)]
    public int? LeaseSeconds { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/complete</c>.</summary>
[Description("Finishes the attempt with a result.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CompleteRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }

    [Description("Any JSON: the job's result.")]
    public JsonElement? Result { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/fail</c>: <c>retry</c> (default true) queues it again while attempts remain.</summary>
[Description("Fails the attempt; with `retry` (default true) the job is queued again after a backoff while attempts remain.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record FailRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }

    [Description("What went wrong: an error object, or just its message as a string.")]
    [JsonConverter(typeof(ErrorOrMessageJsonConverter))]
    public required JobErrorInput Error { get; init; }

    [Description("False to fail the job for good now; default true.")]
    public bool? Retry { get; init; }
}
