using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Jobkeeper.Model;

/// <summary>
/// How much of a queue may run: the settings stored for it in the database, the same for every instance. A queue with
/// none of them set runs as fast as its workers claim.
/// </summary>
[Description("A queue's flow settings: stored in the database, the same for every instance.")]
public sealed record QueueSettings
{
    [Description("The queue's name.")]
    public required string Name { get; init; }

    [Description("At most this many of the queue's jobs `running` at once over all instances; null for no limit.")]
    public int? ConcurrencyLimit { get; init; }

    [Description("Splits the queue by a key drawn from each job: its jobs take turns between keys, and at most `limit` run per key.")]
    public QueuePartition? Partition { get; init; }

    [Description("At most `count` of the queue's jobs started per `period_seconds` (per partition key with `per_key`).")]
    public QueueRateLimit? RateLimit { get; init; }

    [Description("True while the queue is paused: no job of it is claimed; running jobs finish.")]
    public bool Paused { get; init; }

    [Description("Job types paused in this queue only (the rest of the queue runs).")]
    public IReadOnlyList<string> PausedTypes { get; init; } = [];

    [Description("When the settings last changed.")]
    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>Bumped by every change; a change is stored compare-and-set on it (0: never stored).</summary>
    [JsonIgnore]
    public long Version { get; init; }

    /// <summary>True when a claim must look at this queue's settings: something in them holds jobs back.</summary>
    [JsonIgnore]
    public bool HoldsBack => Paused || PausedTypes.Count > 0 || ConcurrencyLimit is not null || Partition is not null || RateLimit is not null;
}

/// <summary>A queue's partitions: the key drawn from each job, and how many may run per key.</summary>
[Description("The key a queue's jobs are partitioned by, and how many may run per key value.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record QueuePartition
{
    [Description("`type`, or `label:<name>` for a label's value (a job without the label is in the partition of the empty value).")]
    [StringLength(QueueLimits.MaxPartitionKeyLength, MinimumLength = 1)]
    public required string Key { get; init; }

    [Description("At most this many running jobs per key value; null: keys only take turns.")]
    [Range(1, QueueLimits.MaxLimit)]
    public int? Limit { get; init; }
}

/// <summary>A queue's rate limit: at most <see cref="Count"/> jobs started in any <see cref="PeriodSeconds"/>.</summary>
[Description("At most `count` jobs started in any window of `period_seconds`, over all instances.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record QueueRateLimit
{
    [Description("How many jobs may start in a window.")]
    [Range(1, QueueLimits.MaxRateCount)]
    public required int Count { get; init; }

    [Description("The window, in seconds.")]
    [Range(1, QueueLimits.MaxRatePeriodSeconds)]
    public required int PeriodSeconds { get; init; }

    [Description("True: the limit holds per partition key (the queue needs a `partition`); false: for the whole queue.")]
    public bool PerKey { get; init; }
}

/// <summary>The bounds of a queue's settings: the one place they are stated.</summary>
public static class QueueLimits
{
    /// <summary>The highest concurrency limit, per queue or per key.</summary>
    public const int MaxLimit = 100_000;

    /// <summary>The most starts a rate limit may allow per window.</summary>
    public const int MaxRateCount = 1_000_000;

    /// <summary>The longest rate window: a day.</summary>
    public const int MaxRatePeriodSeconds = 86_400;

    /// <summary><c>label:</c> and a label key.</summary>
    public const int MaxPartitionKeyLength = 6 + JobLimits.MaxLabelKeyLength;

    /// <summary>The partition key of a job's type.</summary>
    public const string TypeKey = "type";

    /// <summary>The prefix of a partition key that is a label's value.</summary>
    public const string LabelKeyPrefix = "label:";
}

/// <summary>Why a queued, due job is held back (<see cref="Job.BlockedBy"/>).</summary>
public static class JobBlockedBy
{
    /// <summary>Its queue is paused.</summary>
    public const string Paused = "paused";

    /// <summary>Its type is paused in its queue.</summary>
    public const string TypePaused = "type_paused";

    /// <summary>Its queue runs as many jobs as its <c>concurrency_limit</c>.</summary>
    public const string ConcurrencyLimit = "concurrency_limit";

    /// <summary>Its partition key runs as many jobs as the partition's limit.</summary>
    public const string PartitionLimit = "partition_limit";

    /// <summary>Its queue (or partition key) started as many jobs as its rate limit allows in the current window.</summary>
    public const string RateLimit = "rate_limit";
}
