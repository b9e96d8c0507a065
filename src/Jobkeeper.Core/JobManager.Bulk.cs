using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.Logging;

namespace Jobkeeper;

/// <summary>What a bulk action does to each job it matches.</summary>
public enum JobBulkAction
{
    /// <summary>Queue failed and cancelled jobs again (<see cref="JobManager.RetryAsync"/>).</summary>
    Retry,

    /// <summary>Cancel queued, waiting and running jobs (<see cref="JobManager.CancelAsync"/>).</summary>
    Cancel,

    /// <summary>Delete jobs with their history (<see cref="JobManager.DeleteAsync(string, JobActor?, CancellationToken)"/>).</summary>
    Delete,
}

/// <summary>What a bulk action found and did: <see cref="Changed"/> of the <see cref="Matched"/> jobs changed; the rest were skipped.</summary>
public sealed record JobBulkResult(long Matched, long Changed)
{
    public long Skipped => Matched - Changed;
}

public sealed partial class JobManager
{
    /// <summary>Jobs read per page of a bulk action.</summary>
    private const int BulkPageSize = 500;

    /// <summary>
    /// Changes of one bulk page in flight at once: enough for the store's group commit to fill its transactions (one job per
    /// transaction would take minutes for 100,000 jobs), few enough that a concurrent writer waits at most about one batch.
    /// </summary>
    private const int BulkParallelism = 32;

    /// <summary>
    /// Applies <paramref name="action"/> to every job <paramref name="filter"/> matches, page by page (newest first, the
    /// listing's keyset order), each job by its own compare-and-set change through the same rules as one call would: no
    /// transaction spans the action, so writers never wait behind it, and a job whose status does not allow the action is
    /// skipped. The jobs a change made no longer match a status filter, so after an interruption the same call goes on where
    /// it stopped. Each change's event names <paramref name="actor"/>, with the reason "bulk retry" (etc.) unless it gives one.
    /// An empty filter matches every job and is refused unless <paramref name="all"/> is true.
    /// </summary>
    /// <param name="dryRun">Only count the jobs the filter matches.</param>
    public async Task<JobBulkResult> BulkAsync(JobBulkAction action, JobQuery filter, bool all = false, bool dryRun = false, JobActor? actor = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (!Enum.IsDefined(action))
        {
            throw new JobValidationException("action", "must be retry, cancel or delete");
        }

        if (filter.IsEmpty && !all)
        {
            throw new JobValidationException("filter",
                "is empty, so it matches every job; give a status, type, queue, label or date range, or send \"all\": true to act on every job");
        }

        ValidateFilter(filter, "filter.");

        var name = action.ToString().ToLowerInvariant();
        var by = By(actor);
        by = by with { Reason = by.Reason ?? "bulk " + name };
        var query = filter with { Limit = BulkPageSize, After = null };
        long matched = 0, changed = 0;
        while (true)
        {
            var page = await _store.ListAsync(query, cancellationToken).ConfigureAwait(false);
            matched += page.Items.Count;
            if (!dryRun && page.Items.Count > 0)
            {
                // One change for the page (the rule and its time), as RetryAsync and CancelAsync make one per call.
                var change = action switch
                {
                    JobBulkAction.Retry => RetryChange(by),
                    JobBulkAction.Cancel => CancelChange(by),
                    _ => null,
                };
                var pageChanged = 0;
                await Parallel.ForEachAsync(page.Items, new ParallelOptions { MaxDegreeOfParallelism = BulkParallelism, CancellationToken = cancellationToken },
                    async (job, ct) =>
                    {
                        if (await ApplyBulkAsync(change, job, ct).ConfigureAwait(false))
                        {
                            Interlocked.Increment(ref pageChanged);
                        }
                    }).ConfigureAwait(false);
                changed += pageChanged;
                _instruments.RecordBulk(name, pageChanged);
            }

            if (page.Next is null)
            {
                break;
            }

            query = query with { After = page.Next };
        }

        if (!dryRun)
        {
            _logger.LogInformation("Bulk {Action} by {Actor} (display name: {DisplayName}; reason: {Reason}): {Matched} matched, {Changed} changed",
                name, by.Name, by.DisplayName ?? "none", by.Reason, matched, changed);
        }

        return new JobBulkResult(matched, changed);
    }

    /// <summary>
    /// One job's change of a bulk action, from the row the page read (no read per job): <paramref name="change"/>, or a delete when
    /// it is null. False when the job's state does not allow it, it changed nothing, or the job is gone.
    /// </summary>
    private async Task<bool> ApplyBulkAsync(Func<Job, JobReplacement?>? change, Job listed, CancellationToken cancellationToken)
    {
        try
        {
            if (change is null)
            {
                // One line in the log for the whole action instead of one per job.
                return await _store.DeleteAsync(listed.Id, cancellationToken).ConfigureAwait(false);
            }

            // Cancelling a cancelled job, or a running one already told to stop, changes nothing.
            return (await _kernel.ChangeAsync(listed, change, cancellationToken).ConfigureAwait(false)).Version > listed.Version;
        }
        catch (Exception ex) when (ex is JobStateConflictException or InvalidTransitionException or JobNotFoundException)
        {
            return false;
        }
    }
}
