using Jobkeeper.Model;

namespace Jobkeeper.Retention;

/// <summary>
/// How long finished jobs are kept (configuration section <c>Jobkeeper:Retention</c>). <see cref="Days"/> applies to
/// every terminal status; <see cref="Completed"/>, <see cref="Failed"/> and <see cref="Cancelled"/> override it for
/// one status. A status with no days is never cleaned up in the background.
/// </summary>
public sealed class RetentionOptions
{
    public int? Days { get; set; }

    public int? Completed { get; set; }

    public int? Failed { get; set; }

    public int? Cancelled { get; set; }

    /// <summary>How often the background cleanup runs (first at start).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>When set, each job is written with its events to a gzip JSON Lines file here before it is deleted.</summary>
    public string? ArchiveDirectory { get; set; }

    /// <summary>Days kept for a terminal status, or null when that status is kept forever.</summary>
    public int? DaysFor(JobStatus status) => status switch
    {
        JobStatus.Completed => Completed ?? Days,
        JobStatus.Failed => Failed ?? Days,
        JobStatus.Cancelled => Cancelled ?? Days,
        _ => null,
    };

    public bool Enabled => Days is not null || Completed is not null || Failed is not null || Cancelled is not null;
}
