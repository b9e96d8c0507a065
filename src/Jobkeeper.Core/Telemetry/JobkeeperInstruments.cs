using System.Diagnostics.Metrics;
using Jobkeeper.Model;

namespace Jobkeeper.Telemetry;

/// <summary>
/// The "Jobkeeper" meter of one host and its counters and histograms, created through the host's <see cref="IMeterFactory"/>:
/// the meter's scope is that factory, so several hosts in one process each report their own work. A singleton of
/// <c>AddJobkeeper</c>; the manager, the work queue, the lease reaper and the stores record through it.
/// </summary>
public sealed class JobkeeperInstruments : IDisposable
{
    // Seconds, for waits and runs from milliseconds to a day; operations per transaction, from one to thousands.
    private static readonly double[] SecondsBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];

    private static readonly int[] CountBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

    private readonly Meter? _owned;
    private readonly Counter<long> _created;
    private readonly Counter<long> _createsExisting;
    private readonly Counter<long> _scheduleFires;
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _retried;
    private readonly Counter<long> _leasesExpired;
    private readonly Counter<long> _bulkChanged;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<double> _runDuration;
    private readonly Histogram<int> _commitBatchSize;
    private readonly Histogram<double> _commitDuration;

    /// <param name="meterFactory">The host's meter factory; without one (a bare service collection) the meter is this object's own.</param>
    public JobkeeperInstruments(IMeterFactory? meterFactory = null)
    {
        Meter = meterFactory?.Create(JobkeeperTelemetry.MeterName) ?? (_owned = new Meter(JobkeeperTelemetry.MeterName));
        _created = Meter.CreateCounter<long>("jobkeeper.jobs.created", "{job}", "Jobs created");
        _createsExisting = Meter.CreateCounter<long>("jobkeeper.jobs.create_existing", "{create}",
            "Creates answered with an existing job instead of a new one: outcome=existing (its unique key blocked) or debounced (folded into the queued job)");
        _scheduleFires = Meter.CreateCounter<long>("jobkeeper.schedule.fires", "{fire}",
            "Fire times of schedules, by schedule and outcome: fired (a job created), existing (its job was there: a fire repeated after a crash or a handover), skipped_misfire, skipped_overlap, cancelled_previous, triggered");
        _completed = Meter.CreateCounter<long>("jobkeeper.jobs.completed", "{job}", "Jobs that ended completed");
        _failed = Meter.CreateCounter<long>("jobkeeper.jobs.failed", "{job}", "Jobs that ended failed (no attempts left, or not to be retried)");
        _retried = Meter.CreateCounter<long>("jobkeeper.jobs.retried", "{job}",
            "Jobs queued again for another attempt (after a failed attempt, an expired lease, or a retry by hand)");
        _leasesExpired = Meter.CreateCounter<long>("jobkeeper.leases.expired", "{lease}",
            "Leases of running jobs that ran out without a renewal (the worker or app driving the job stopped), by what the job became");
        _bulkChanged = Meter.CreateCounter<long>("jobkeeper.jobs.bulk_changed", "{job}",
            "Jobs changed by bulk actions (POST /api/v1/jobs/bulk), by action: retry, cancel or delete");
        _queueWait = Meter.CreateHistogram("jobkeeper.job.queue_wait", "s", "Time from when an attempt became due (run_at) to when a worker claimed it, by type and queue (its count is the starts per queue)",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _runDuration = Meter.CreateHistogram("jobkeeper.job.run.duration", "s",
            "Time from started_at to the end of the run (completed, failed, cancelled or queued for a retry)",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        _commitBatchSize = Meter.CreateHistogram("jobkeeper.store.commit.batch_size", "{operation}", "Write operations per committed transaction",
            tags: null, advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = CountBuckets });
        _commitDuration = Meter.CreateHistogram("jobkeeper.store.commit.duration", "s", "Time to execute and commit one write transaction",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
    }

    /// <summary>The meter (name "Jobkeeper"; scope the host's meter factory).</summary>
    public Meter Meter { get; }

    /// <summary>Records one committed write transaction of a store: how many operations it carried and how long it took.</summary>
    public void RecordCommit(int operations, TimeSpan elapsed)
    {
        _commitBatchSize.Record(operations);
        _commitDuration.Record(elapsed.TotalSeconds);
    }

    /// <summary>Jobs one page of a bulk action changed.</summary>
    internal void RecordBulk(string action, int changed)
    {
        if (changed > 0)
        {
            _bulkChanged.Add(changed, new KeyValuePair<string, object?>("action", action));
        }
    }

    internal void RecordCreated(Job job) => _created.Add(1, new KeyValuePair<string, object?>("type", job.Type));

    /// <summary>What became of one fire time of a schedule (or a trigger).</summary>
    internal void RecordScheduleFire(string schedule, string outcome) => _scheduleFires.Add(1,
        new KeyValuePair<string, object?>("schedule", schedule), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A create that found its job already there (<paramref name="debounced"/>: and folded into it).</summary>
    internal void RecordExisting(Job job, bool debounced) => _createsExisting.Add(1,
        new KeyValuePair<string, object?>("type", job.Type), new KeyValuePair<string, object?>("outcome", debounced ? "debounced" : "existing"));

    /// <summary>Records what a committed change of one job means: an attempt ended, the job finished or was queued for a retry.</summary>
    internal void RecordTransition(Job before, Job after)
    {
        if (before.Status == after.Status)
        {
            return;
        }

        var type = new KeyValuePair<string, object?>("type", after.Type);
        switch (after.Status)
        {
            case JobStatus.Completed:
                _completed.Add(1, type);
                break;
            case JobStatus.Failed:
                _failed.Add(1, type);
                break;
            case JobStatus.Queued when after.Attempt > before.Attempt:
                _retried.Add(1, type);
                break;
        }

        if (before.Status == JobStatus.Running && before.StartedAt is { } started && RunOutcome(before, after) is { } outcome)
        {
            var seconds = Math.Max(0, (after.UpdatedAt - started).TotalSeconds);
            _runDuration.Record(seconds, type, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    /// <summary>Records the queue wait of jobs just claimed at <paramref name="now"/> (only attempts starting now, not resumed ones).</summary>
    internal void RecordClaimed(IReadOnlyList<Job> claimed, DateTimeOffset now)
    {
        if (!_queueWait.Enabled)
        {
            return;
        }

        foreach (var job in claimed)
        {
            if (job.StartedAt is { } started && started >= now)
            {
                _queueWait.Record(Math.Max(0, (started - job.RunAt).TotalSeconds),
                    new KeyValuePair<string, object?>("type", job.Type), new KeyValuePair<string, object?>("queue", job.Queue));
            }
        }
    }

    /// <summary>Records a lease that ran out, by what the job became.</summary>
    internal void RecordLeaseExpired(Job after) =>
        _leasesExpired.Add(1, new KeyValuePair<string, object?>("type", after.Type),
            new KeyValuePair<string, object?>("outcome", after.Status == JobStatus.Failed ? after.Error?.Code ?? "failed" : after.Status.ToName()));

    private static string? RunOutcome(Job before, Job after) => after.Status switch
    {
        JobStatus.Completed => "completed",
        JobStatus.Failed => "failed",
        JobStatus.Cancelled => "cancelled",
        JobStatus.Queued when after.Attempt > before.Attempt => "retried",
        _ => null,
    };

    /// <summary>Disposes the meter when it is this object's own; a factory's meter goes with the factory.</summary>
    public void Dispose() => _owned?.Dispose();
}
