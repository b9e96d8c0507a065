using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Jobkeeper.Contracts;

/// <summary>The body of <c>POST /api/v1/jobs/bulk</c>: one action on every job a filter matches.</summary>
[Description("Retries, cancels or deletes every job the filter matches, in batches. An empty filter is refused unless `all` is true. Sent again after an interruption, it goes on where it stopped: the jobs it changed no longer match.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record BulkActionRequest
{
    public const string RetryAction = "retry";
    public const string CancelAction = "cancel";
    public const string DeleteAction = "delete";

    [Description("`retry` (failed and cancelled jobs), `cancel` (queued, waiting and running jobs) or `delete` (any job; needs the admin role).")]
    [AllowedValues(RetryAction, CancelAction, DeleteAction)]
    public required string Action { get; init; }

    [Description("The jobs to act on, with the filters of `GET /api/v1/jobs`.")]
    public JobFilter? Filter { get; init; }

    [Description("Must be true for an empty filter, which matches every job.")]
    public bool? All { get; init; }

    [Description("Only count the matching jobs; change nothing.")]
    public bool? DryRun { get; init; }
}

/// <summary>The filters of <c>GET /api/v1/jobs</c> as a JSON object, with the same names and values.</summary>
[Description("The filters of `GET /api/v1/jobs`, with the same names and values; every one given must match.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record JobFilter
{
    [Description("Statuses, comma-separated: `failed` or `failed,cancelled`.")]
    public string? Status { get; init; }

    [Description("The job type.")]
    public string? Type { get; init; }

    [Description("The queue.")]
    public string? Queue { get; init; }

    [Description("A search: jobs whose id starts with it, or whose type, labels, input, result and error have all its words.")]
    [StringLength(1000)]
    public string? Q { get; init; }

    [Description("Labels as `key:value`; every one must match.")]
    public IReadOnlyList<string>? Label { get; init; }

    [Description("Created at or after this time.")]
    public DateTimeOffset? CreatedAfter { get; init; }

    [Description("Created before this time.")]
    public DateTimeOffset? CreatedBefore { get; init; }
}
