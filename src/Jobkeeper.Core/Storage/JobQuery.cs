using Jobkeeper.Model;

namespace Jobkeeper.Storage;

/// <summary>Filters of a job listing; all given filters must match. Bounds are validated by <see cref="JobManager"/>.</summary>
public sealed record JobQuery
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    public IReadOnlyList<JobStatus> Statuses { get; init; } = [];
    public string? Type { get; init; }
    /// <summary>Only jobs in this queue.</summary>
    public string? Queue { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];
    /// <summary>Only jobs whose id starts with the search or whose text has all its words (<see cref="JobSearch"/>).</summary>
    public JobSearch? Search { get; init; }
    /// <summary>Inclusive lower bound on created_at.</summary>
    public DateTimeOffset? CreatedAfter { get; init; }
    /// <summary>Exclusive upper bound on created_at.</summary>
    public DateTimeOffset? CreatedBefore { get; init; }
    public int Limit { get; init; } = DefaultLimit;
    /// <summary>The order of the listing (newest first unless given).</summary>
    public JobOrder Order { get; init; } = JobOrder.Default;
    /// <summary>Position after which to continue (the last item of the previous page).</summary>
    public JobCursor? After { get; init; }

    /// <summary>No filter is given: the query matches every job.</summary>
    public bool IsEmpty => Statuses.Count == 0 && Type is null && Queue is null && Labels.Count == 0 && CreatedAfter is null && CreatedBefore is null
        && Search is null;
}

/// <summary>One page of a listing and where the next one starts (null at the end).</summary>
public sealed record JobPage(IReadOnlyList<Job> Items, JobCursor? Next);
