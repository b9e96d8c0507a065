using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Jobkeeper.Telemetry;

/// <summary>The meter and activity source every Jobkeeper component reports to (name "Jobkeeper").</summary>
public static class JobkeeperMetrics
{
    public const string Name = "Jobkeeper";

    public static readonly Meter Meter = new(Name);
    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Counter<long> JobsCreated = Meter.CreateCounter<long>("jobkeeper.jobs.created", "{job}", "Jobs created");
    public static readonly Histogram<int> CommitBatchSize = Meter.CreateHistogram<int>("jobkeeper.store.commit.batch_size", "{operation}", "Write operations per committed transaction");
    public static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>("jobkeeper.store.commit.duration", "ms", "Time to execute and commit one write transaction");
}
