using System.Diagnostics;
using System.Diagnostics.Metrics;
using Jobkeeper.Model;

namespace Jobkeeper.Telemetry;

/// <summary>The meter and activity source every Jobkeeper component reports to (name "Jobkeeper").</summary>
public static class JobkeeperMetrics
{
    public const string Name = "Jobkeeper";

    public static readonly Meter Meter = new(Name);
    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Counter<long> JobsCreated = Meter.CreateCounter<long>("jobkeeper.jobs.created", "{job}", "Jobs created");
    public static readonly Counter<long> JobsCompleted = Meter.CreateCounter<long>("jobkeeper.jobs.completed", "{job}", "Jobs that ended completed");
    public static readonly Counter<long> JobsFailed = Meter.CreateCounter<long>("jobkeeper.jobs.failed", "{job}", "Jobs that ended failed (no attempts left, or not to be retried)");
    public static readonly Counter<long> JobsRetried = Meter.CreateCounter<long>("jobkeeper.jobs.retried",
        "{job}", "Jobs queued again for another attempt (after a failed attempt, an expired lease, or a retry by hand)");

    public static readonly Counter<long> LeasesExpired = Meter.CreateCounter<long>("jobkeeper.leases.expired",
        "{lease}", "Leases of running jobs that ran out without a renewal (the worker or app driving the job stopped), by what the job became");

    public static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>("jobkeeper.job.queue_wait",
        "s", "Time from when an attempt became due (run_at) to when a worker claimed it");
    public static readonly Histogram<double> RunDuration = Meter.CreateHistogram<double>("jobkeeper.job.run.duration",
        "s", "Time from started_at to the end of the run (completed, failed, cancelled or queued for a retry)");

    public static readonly Histogram<int> CommitBatchSize = Meter.CreateHistogram<int>("jobkeeper.store.commit.batch_size", "{operation}", "Write operations per committed transaction");
    public static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>("jobkeeper.store.commit.duration", "ms", "Time to execute and commit one write transaction");

    /// <summary>Records what a committed change of one job means: an attempt ended, the job finished or was queued for a retry.</summary>
    internal static void RecordTransition(Job before, Job after)
    {
        if (before.Status == after.Status)
        {
            return;
        }

        var type = new KeyValuePair<string, object?>("type", after.Type);
        switch (after.Status)
        {
            case JobStatus.Completed:
                JobsCompleted.Add(1, type);
                break;
            case JobStatus.Failed:
                JobsFailed.Add(1, type);
                break;
            case JobStatus.Queued when after.Attempt > before.Attempt:
                JobsRetried.Add(1, type);
                break;
        }

        if (before.Status == JobStatus.Running && before.StartedAt is { } started && RunOutcome(before, after) is { } outcome)
        {
            var seconds = Math.Max(0, (after.UpdatedAt - started).TotalSeconds);
            RunDuration.Record(seconds, type, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    /// <summary>Records the queue wait of jobs just claimed at <paramref name="now"/> (only attempts starting now, not resumed ones).</summary>
    internal static void RecordClaimed(IReadOnlyList<Job> claimed, DateTimeOffset now)
    {
        if (!QueueWait.Enabled)
        {
            return;
        }

        foreach (var job in claimed)
        {
            if (job.StartedAt is { } started && started >= now)
            {
                QueueWait.Record(Math.Max(0, (started - job.RunAt).TotalSeconds), new KeyValuePair<string, object?>("type", job.Type));
            }
        }
    }

    private static string? RunOutcome(Job before, Job after) => after.Status switch
    {
        JobStatus.Completed => "completed",
        JobStatus.Failed => "failed",
        JobStatus.Cancelled => "cancelled",
        JobStatus.Queued when after.Attempt > before.Attempt => "retried",
        _ => null,
    };
}
