using Jobkeeper.Errors;
using Jobkeeper.Model;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Workers;

/// <summary>
/// Keeps alive the jobs that this process's <see cref="JobManager"/> set running (app-driven jobs, not claimed by a
/// worker): renews each lease when a third of it has passed, for as long as the process lives and the job stays
/// running under that lease. If the process dies, renewals stop and the reaper of any instance recovers the jobs
/// after their lease. On a clean stop (after the app's own services stopped, so they could still finish their jobs)
/// each job still running is queued again at once when a handler or worker runs its type, otherwise failed with
/// <c>interrupted</c>; each outcome is logged.
/// </summary>
internal sealed class DrivenJobKeeper(JobKernel kernel, DrivenJobs driven, JobRunners runners, TimeProvider time, ILogger<DrivenJobKeeper> logger)
    : BackgroundService
{
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxIdle = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var changed = driven.Changed;
                var wait = await RenewDueAsync(stoppingToken).ConfigureAwait(false);
                await Task.WhenAny(changed, Task.Delay(wait, time, stoppingToken)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync settles what is left.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        var jobs = driven.Snapshot();
        if (jobs.Count == 0)
        {
            return;
        }

        IReadOnlySet<string> runnable;
        try
        {
            runnable = await runners.GetRunnableAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Could not settle the {Count} jobs this process was driving; they are recovered when their leases expire", jobs.Count);
            return;
        }

        var (queued, failed) = (0, 0);
        foreach (var (id, entry) in jobs)
        {
            try
            {
                var now = kernel.Now();
                var job = await kernel.ChangeAsync(id, current => string.Equals(current.LeaseToken, entry.Token, StringComparison.Ordinal)
                    ? JobTransitions.DriverStopped(current, entry.Token, runnable.Contains(current.Type), now)
                    : null, cancellationToken).ConfigureAwait(false);
                if (job.Status != JobStatus.Running)
                {
                    if (job.Status == JobStatus.Queued)
                    {
                        queued++;
                        logger.LogInformation("Job {JobId} ({JobType}), which this process was driving, is queued again at shutdown for a handler or worker of its type",
                            id, job.Type);
                    }
                    else
                    {
                        failed++;
                        logger.LogWarning("Job {JobId} ({JobType}), which this process was driving, is {Status} at shutdown: {ErrorCode}",
                            id, job.Type, job.Status.ToName(), job.Error?.Code);
                    }
                }
            }
            catch (Exception ex) when (ex is JobNotFoundException or LeaseLostException)
            {
                // Finished, deleted or taken over meanwhile.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Could not settle job {JobId} at shutdown; it is recovered when its lease expires", id);
            }
        }

        driven.Clear();
        logger.LogInformation("Shutdown: of the jobs this process was driving, {QueuedCount} were queued again and {FailedCount} ended (nothing else runs their type)",
            queued, failed);
    }

    /// <summary>Renews every lease a third into its length; returns how long until the next one is due.</summary>
    private async Task<TimeSpan> RenewDueAsync(CancellationToken cancellationToken)
    {
        var wait = MaxIdle;
        foreach (var (id, entry) in driven.Snapshot())
        {
            var now = time.GetUtcNow();
            if (entry.CancelRequested)
            {
                // A cancel cut the lease to the grace deadline; nothing renews it, and the reaper ends it cancelled.
                if (entry.ExpiresAt <= now)
                {
                    driven.Forget(id, entry);
                }

                continue;
            }

            var due = entry.RenewAt;
            if (due > now)
            {
                wait = Min(wait, due - now);
                continue;
            }

            try
            {
                var job = await kernel.ChangeAsync(id, current => JobTransitions.Heartbeat(current, entry.Token, null, kernel.Now()), cancellationToken)
                    .ConfigureAwait(false);
                driven.Observe(job, entry.Token);
                if (job.CancelRequestedAt is not null)
                {
                    logger.LogInformation("Job {JobId}, which this process is driving, was asked to cancel; it ends cancelled when its lease runs out", id);
                }

                wait = Min(wait, (job.LeaseDuration ?? entry.Length) / 3);
            }
            catch (Exception ex) when (ex is JobNotFoundException or LeaseLostException)
            {
                driven.Forget(id, entry);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Renewing the lease of job {JobId} failed; trying again in {RetryMs} ms", id, RetryAfterFailure.TotalMilliseconds);
                wait = Min(wait, RetryAfterFailure);
            }
        }

        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
