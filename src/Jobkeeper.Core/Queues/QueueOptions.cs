namespace Jobkeeper.Queues;

/// <summary>
/// A queue declared in configuration (<c>Jobkeeper:Queues:{name}:…</c>) or code: at start, each member given here is
/// written to the queue's stored settings (members left null stay as stored, so a change made at run time to those
/// survives a restart). The queue exists from then on, even before it has jobs.
/// </summary>
public sealed class QueueOptions
{
    /// <summary>At most this many of the queue's jobs running at once over all instances.</summary>
    public int? ConcurrencyLimit { get; set; }

    /// <summary><c>type</c> or <c>label:&lt;name&gt;</c>: the key the queue's jobs take turns by.</summary>
    public string? PartitionKey { get; set; }

    /// <summary>At most this many running per partition key (needs <see cref="PartitionKey"/>).</summary>
    public int? PartitionLimit { get; set; }

    /// <summary>At most this many jobs started per <see cref="RatePeriodSeconds"/>.</summary>
    public int? RateCount { get; set; }

    /// <summary>The rate window, in seconds (with <see cref="RateCount"/>).</summary>
    public int? RatePeriodSeconds { get; set; }

    /// <summary>The rate limit holds per partition key rather than for the whole queue.</summary>
    public bool RatePerKey { get; set; }

    /// <summary>Starts the queue paused (true) or running (false); null leaves it as stored.</summary>
    public bool? Paused { get; set; }
}
