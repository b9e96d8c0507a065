using Jobkeeper.Model;

namespace Jobkeeper.Storage;

/// <summary>What a listing is sorted by (<c>sort=</c>); ties are broken by the id, in the same direction.</summary>
public enum JobSortField
{
    /// <summary>When the job was created (the default, newest first).</summary>
    Created,

    /// <summary>When the job last changed.</summary>
    Updated,

    /// <summary>The job's priority.</summary>
    Priority,

    /// <summary>How long its last run took (completed_at − started_at); jobs without both sort as shortest.</summary>
    Duration,
}

/// <summary>A listing's order: a field and a direction. Written <c>created</c> (ascending) or <c>-created</c> (descending).</summary>
public readonly record struct JobOrder(JobSortField Field, bool Descending)
{
    /// <summary>Newest first: what a listing without <c>sort=</c> uses.</summary>
    public static JobOrder Default { get; } = new(JobSortField.Created, true);

    public static IReadOnlyList<string> Names { get; } = ["created", "updated", "priority", "duration"];

    /// <summary>The order <paramref name="text"/> names (<c>updated</c>, <c>-priority</c>), or false.</summary>
    public static bool TryParse(string? text, out JobOrder order)
    {
        order = Default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var descending = text[0] == '-';
        var index = Names.ToList().IndexOf(descending ? text[1..] : text);
        if (index < 0)
        {
            return false;
        }

        order = new JobOrder((JobSortField)index, descending);
        return true;
    }

    /// <summary>The text <see cref="TryParse"/> reads: the field's name, after a minus when descending.</summary>
    public override string ToString() => (Descending ? "-" : "") + Names[(int)Field];

    /// <summary>The value <paramref name="job"/> sorts by: microseconds for times and durations (−1 for no duration), else the priority.</summary>
    public long KeyOf(Job job) => Field switch
    {
        JobSortField.Updated => TimeMicros.From(job.UpdatedAt),
        JobSortField.Priority => job.Priority,
        JobSortField.Duration => job is { StartedAt: { } started, CompletedAt: { } completed } ? TimeMicros.From(completed) - TimeMicros.From(started) : -1,
        _ => TimeMicros.From(job.CreatedAt),
    };
}
