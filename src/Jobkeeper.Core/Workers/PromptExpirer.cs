using Jobkeeper.Errors;
using Jobkeeper.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Workers;

/// <summary>
/// Gives expired prompts their outcome: the job fails, or continues with the prompt's default answer.
/// Decided compare-and-set on a prompt still open, so an answer arriving at the same moment and the
/// expiry never both win, and instances running this at once never decide twice. Runs on the instance that leads maintenance.
/// </summary>
internal sealed class PromptExpirer(JobKernel kernel, TimeProvider time, IOptions<JobkeeperOptions> options, ILogger<PromptExpirer> logger,
    Maintenance.IMaintenanceLeadership leadership)
    : PeriodicSweep(options.Value.Workers.ReapInterval, time, logger, leadership)
{
    private const int BatchSize = 500;

    protected override string What => "expired prompts";

    protected override Task SweepAsync(CancellationToken cancellationToken) => ExpireAsync(cancellationToken);

    private async Task ExpireAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = kernel.Now();
            var expired = await kernel.Store.GetExpiredPromptsAsync(now, BatchSize, cancellationToken).ConfigureAwait(false);
            foreach (var job in expired)
            {
                if (job.OpenPrompt is not { } prompt)
                {
                    continue;
                }

                try
                {
                    var decided = false;
                    var after = await kernel.ChangeAsync(job.Id, current =>
                    {
                        var change = PromptTransitions.Expire(current, prompt.Key, now);
                        decided = change is not null;
                        return change;
                    }, cancellationToken).ConfigureAwait(false);
                    if (decided)
                    {
                        logger.LogInformation("Prompt {PromptKey} of job {JobId} expired unanswered; the job is now {Status}",
                            prompt.Key, job.Id, after.Status.ToName());
                    }
                }
                catch (JobNotFoundException)
                {
                    // Deleted meanwhile.
                }
            }

            if (expired.Count < BatchSize)
            {
                return;
            }
        }
    }
}
