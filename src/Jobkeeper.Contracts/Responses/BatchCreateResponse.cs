using System.ComponentModel;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>What <c>POST /api/v1/jobs/batch</c> returns: one item per job of the request, in its order.</summary>
[Description("One item per job of the request, in its order; `created` counts the jobs stored.")]
public sealed record BatchCreateResponse(int Created, IReadOnlyList<BatchCreateItem> Items);

/// <summary>What became of one job of a batch create.</summary>
[Description("`outcome` is `created` (with the job), `existing` (a job with its `unique_key` blocked it, or a debounce folded into it: that job), `duplicate_id` (a job with `id` exists or came earlier in the batch) or `invalid` (`field` and `detail` say what was wrong).")]
public sealed record BatchCreateItem(string Outcome)
{
    public const string CreatedOutcome = "created";
    public const string ExistingOutcome = "existing";
    public const string DuplicateIdOutcome = "duplicate_id";
    public const string InvalidOutcome = "invalid";

    public Job? Job { get; init; }
    public string? Id { get; init; }
    public string? Field { get; init; }
    public string? Detail { get; init; }

    public static BatchCreateItem Created(Job job) => new(CreatedOutcome) { Job = job, Id = job.Id };

    public static BatchCreateItem Existing(Job job) => new(ExistingOutcome) { Job = job, Id = job.Id };

    public static BatchCreateItem DuplicateId(string id) => new(DuplicateIdOutcome) { Id = id, Detail = $"a job with id '{id}' exists" };

    public static BatchCreateItem Invalid(string field, string detail) => new(InvalidOutcome) { Field = field, Detail = detail };
}
