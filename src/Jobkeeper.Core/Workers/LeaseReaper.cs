using Jobkeeper.Errors;
using Jobkeeper.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Workers;

/// <summary>
/// Returns the jobs of dead workers and dead apps: a running job whose lease expired goes back to the queue with
/// attempt + 1 when a handler or worker runs its type (failed once its attempts are spent, or when nothing runs
/// its type; cancelled when a cancel was pending). Each change is compare-and-set on a lease still found expired,
/// so a last-moment heartbeat wins, and reapers on many instances at once never reap a job twice. It runs on the instance
/// that leads maintenance only, so N instances do not all read the same expired leases.
/// </summary>
internal sealed class LeaseReaper(JobKernel kernel, JobRunners runners, TimeProvider time, IOptions<JobkeeperOptions> options, ILogger<LeaseReaper> logger,
    Maintenance.IMaintenanceLeadership leadership)
    : PeriodicSweep(options.Value.Workers.ReapInterval, time, logger, leadership)
{
    private const int BatchSize = 500;

    protected override string What => "expired leases";

    protected override Task SweepAsync(CancellationToken cancellationToken) => ReapAsync(cancellationToken);

    /// <summary>Reaps every lease expired by now; returns how many jobs it moved.</summary>
    internal async Task<int> ReapAsync(CancellationToken cancellationToken)
    {
        var reaped = 0;
        while (true)
        {
            var now = kernel.Now();
            var expired = await kernel.Store.GetExpiredLeasesAsync(now, BatchSize, cancellationToken).ConfigureAwait(false);
            var runnable = expired.Count == 0 ? null : await runners.GetRunnableAsync(cancellationToken).ConfigureAwait(false);
            foreach (var job in expired)
            {
                try
                {
                    var token = job.LeaseToken;
                    var expiredNow = false;
                    var after = await kernel.ChangeAsync(job.Id, current =>
                    {
                        var change = JobTransitions.ExpireLease(current, token, now, runnable!.Contains(current.Type));
                        expiredNow = change is not null;
                        return change;
                    }, cancellationToken).ConfigureAwait(false);
                    if (expiredNow)
                    {
                        reaped++;
                        kernel.Instruments.RecordLeaseExpired(after);
                        logger.LogWarning(
                            "Lease of job {JobId} ({JobType}) held by {LeaseOwner} expired at {LeaseExpiresAt:O}; attempt {Attempt} of {MaxAttempts}: now {Status}",
                            job.Id, job.Type, job.LeaseOwner, job.LeaseExpiresAt, job.Attempt, job.MaxAttempts, after.Status.ToName());
                    }
                }
                catch (JobNotFoundException)
                {
                    // Deleted meanwhile.
                }
            }

            if (expired.Count < BatchSize)
            {
                return reaped;
            }
        }
    }
}
