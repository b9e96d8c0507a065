using Microsoft.Extensions.Logging;

namespace Jobkeeper.Workers;

/// <summary>
/// Tells the store, at start and then about once a minute, which job types this process runs, so the reaper of any
/// instance knows whether a job whose lease expired can be run again.
/// </summary>
internal sealed class RunnerPresence(JobRunners runners, TimeProvider time, ILogger<RunnerPresence> logger)
    : PeriodicSweep(runners.RecordInterval, time, logger)
{
    protected override string What => "job types to record as runnable";

    protected override Task SweepAsync(CancellationToken cancellationToken) => runners.RecordAsync(cancellationToken);
}
