using System.ComponentModel;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>What <c>GET /api/v1/queues/{name}</c> returns: a queue's settings and its state at a glance.</summary>
[Description("A queue: its settings, its jobs by status, running against its limit, the oldest queued job's age and recent throughput.")]
public sealed record QueueInfo
{
    public required string Name { get; init; }

    [Description("True while paused: nothing of it is claimed.")]
    public bool Paused { get; init; }

    [Description("Types paused in this queue.")]
    public IReadOnlyList<string> PausedTypes { get; init; } = [];

    [Description("At most this many running at once over all instances; null for no limit.")]
    public int? ConcurrencyLimit { get; init; }

    [Description("The key its jobs are partitioned by and the limit per key; null when not partitioned.")]
    public QueuePartition? Partition { get; init; }

    [Description("At most `count` started per `period_seconds`; null for no rate limit.")]
    public QueueRateLimit? RateLimit { get; init; }

    [Description("Its jobs by status (every status, 0 included).")]
    public required IReadOnlyDictionary<string, long> Counts { get; init; }

    [Description("Jobs running now (the same as `counts.running`), to compare with `concurrency_limit`.")]
    public long Running { get; init; }

    [Description("Jobs started in the current rate window; null without a rate limit.")]
    public long? StartedInRateWindow { get; init; }

    [Description("How long the oldest queued job has waited since it came due, in seconds; null when none is queued and due.")]
    public double? OldestQueuedAgeSeconds { get; init; }

    [Description("Jobs of the queue that finished (completed, failed or cancelled) in the last 1, 5 and 15 minutes.")]
    public required QueueThroughput Throughput { get; init; }

    [Description("When the settings last changed; null when never set.")]
    public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>Finished jobs of a queue over the last minutes.</summary>
[Description("Jobs that finished in the last 1, 5 and 15 minutes.")]
public sealed record QueueThroughput(long LastMinute, long Last5Minutes, long Last15Minutes);

/// <summary>What <c>GET /api/v1/queues</c> returns.</summary>
[Description("Every queue that has jobs or settings, by name.")]
public sealed record QueueListResponse(IReadOnlyList<QueueInfo> Items);
