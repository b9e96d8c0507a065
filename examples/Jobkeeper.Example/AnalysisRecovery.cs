using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Example;

/// <summary>
/// At start-up, finds the analyses a previous run accepted but did not finish and queues them again:
/// queued jobs as they are, running jobs (their process stopped or crashed mid-way) back to queued.
/// This is what the in-memory dictionaries of the original apps could not do. It assumes one
/// instance of the example per database, so that a running job found here is an orphan.
/// </summary>
public sealed class AnalysisRecovery(JobManager jobs, AnalysisQueue queue, ILogger<AnalysisRecovery> logger)
{
    public async Task ResumeUnfinishedAsync(CancellationToken cancellationToken)
    {
        var unfinished = new List<Job>();
        var query = new JobQuery { Type = AnalyzeEndpoint.JobType, Statuses = [JobStatus.Queued, JobStatus.Running], Limit = JobQuery.MaxLimit };
        while (true)
        {
            var page = await jobs.ListAsync(query, cancellationToken);
            unfinished.AddRange(page.Items);
            if (page.Next is not { } next)
            {
                break;
            }

            query = query with { After = next };
        }

        // Listings are newest first; resume in the order the jobs were accepted.
        unfinished.Reverse();
        foreach (var job in unfinished)
        {
            if (job.Status == JobStatus.Running && !await RequeueAsync(job, cancellationToken))
            {
                continue;
            }

            queue.Enqueue(job.Id);
        }

        if (unfinished.Count > 0)
        {
            logger.LogInformation("Resumed {Count} unfinished analysis jobs from the store", unfinished.Count);
        }
    }

    private async Task<bool> RequeueAsync(Job job, CancellationToken cancellationToken)
    {
        try
        {
            await jobs.UpdateAsync(job.Id, new JobPatch
            {
                Status = JobStatus.Queued,
                Progress = new ProgressPatch { Message = "Resumed after a restart" },
            }, expectedVersion: job.Version, actor: AnalysisRunner.Actor, cancellationToken: cancellationToken);
            logger.LogInformation("Job {JobId} was running when the app stopped; queued again", job.Id);
            return true;
        }
        catch (JobkeeperException ex) when (ex is VersionMismatchException or JobNotFoundException)
        {
            logger.LogInformation("Job {JobId} changed while being recovered; left as it is", job.Id);
            return false;
        }
    }
}
