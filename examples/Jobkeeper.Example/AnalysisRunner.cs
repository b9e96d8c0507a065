using Jobkeeper.Errors;
using Jobkeeper.Model;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Example;

/// <summary>
/// Runs one analysis job: claims it (queued → running, compare-and-set), reports progress after every
/// step, and completes it with the result — or fails it, or puts it back in the queue at shutdown.
/// Every state it reports is committed by Jobkeeper before the next step starts.
/// </summary>
public sealed class AnalysisRunner(JobManager jobs, IOptions<ExampleOptions> options, TimeProvider time, ILogger<AnalysisRunner> logger)
{
    public const string Actor = "example-worker";

    public async Task RunAsync(string jobId, CancellationToken stoppingToken)
    {
        var job = await ClaimAsync(jobId, stoppingToken);
        if (job is null)
        {
            return;
        }

        var file = job.Input is { } input && input.TryGetProperty("file", out var f) && f.GetString() is { Length: > 0 } name ? name : "unknown";
        logger.LogInformation("Analyzing {File} for job {JobId}", file, jobId);
        try
        {
            await AnalyzeAsync(jobId, file, stoppingToken);
            var result = FakeAnalysis.Result(file, time.GetUtcNow().UtcDateTime);
            await jobs.UpdateAsync(jobId, new JobPatch
            {
                Status = JobStatus.Completed,
                Progress = Progress(FakeAnalysis.TotalSteps, "done", "Analysis complete"),
                Result = ExampleJson.ToElement(result),
            }, actor: Actor, cancellationToken: stoppingToken);
            logger.LogInformation("Job {JobId} completed: {File} is {TempoBpm} BPM in {Key}", jobId, file, result.TempoBpm, result.Key);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await SettleAsync(jobId, "requeue it", new JobPatch
            {
                Status = JobStatus.Queued,
                Progress = new ProgressPatch { Message = "Interrupted by shutdown; resumes at the next start" },
            });
        }
        catch (JobkeeperException ex) when (ex is JobNotFoundException or JobStateConflictException or InvalidTransitionException)
        {
            // Someone else cancelled, finished or deleted the job meanwhile: their change wins.
            logger.LogInformation("Job {JobId} was changed elsewhere ({Reason}); its analysis stops", jobId, ex.Message);
        }
        catch (AnalysisFailedException ex)
        {
            logger.LogWarning("Job {JobId} failed: {Message}", jobId, ex.Message);
            await SettleAsync(jobId, "fail it", Failed(ex.Code, ex.Message));
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Job {JobId} failed unexpectedly", jobId);
            await SettleAsync(jobId, "fail it", Failed("internal_error", "The analysis stopped on an unexpected error."));
        }
    }

    /// <summary>Moves a queued job to running only if nobody else changed it first; null when it is not ours to run.</summary>
    private async Task<Job?> ClaimAsync(string jobId, CancellationToken cancellationToken)
    {
        var job = await jobs.GetAsync(jobId, cancellationToken);
        if (job is not { Status: JobStatus.Queued })
        {
            logger.LogInformation("Job {JobId} is {Status}, not queued; skipped", jobId, job?.Status.ToName() ?? "gone");
            return null;
        }

        try
        {
            return await jobs.UpdateAsync(jobId, new JobPatch
            {
                Status = JobStatus.Running,
                Progress = Progress(0, "starting", "Analysis started"),
            }, expectedVersion: job.Version, actor: Actor, cancellationToken: cancellationToken);
        }
        catch (JobkeeperException ex) when (ex is VersionMismatchException or JobNotFoundException)
        {
            logger.LogInformation("Job {JobId} changed before it could start; skipped", jobId);
            return null;
        }
    }

    private async Task AnalyzeAsync(string jobId, string file, CancellationToken cancellationToken)
    {
        var delay = options.Value.StepDelay;
        var done = 0;
        foreach (var stage in FakeAnalysis.Stages)
        {
            for (var step = 1; step <= stage.Steps; step++)
            {
                await FakeAnalysis.StepAsync(file, stage, step, delay, time, cancellationToken);
                done++;
                await jobs.UpdateAsync(jobId, new JobPatch
                {
                    Progress = Progress(done, stage.Name, $"{stage.Description} ({step}/{stage.Steps})"),
                }, actor: Actor, cancellationToken: cancellationToken);
            }
        }
    }

    /// <summary>Records how a run ended even while the host is stopping (the store closes after this service).</summary>
    private async Task SettleAsync(string jobId, string what, JobPatch patch)
    {
        try
        {
            await jobs.UpdateAsync(jobId, patch, actor: Actor, cancellationToken: CancellationToken.None);
            logger.LogInformation("Job {JobId} is now {Status}", jobId, patch.Status?.ToName());
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Could not {What} for job {JobId}; it is recovered at the next start", what, jobId);
        }
    }

    private static ProgressPatch Progress(int done, string stage, string message) => new()
    {
        Fraction = Math.Round((double)done / FakeAnalysis.TotalSteps, 4),
        Stage = stage,
        Message = message,
        Current = done,
        Total = FakeAnalysis.TotalSteps,
    };

    private static JobPatch Failed(string code, string message) => new()
    {
        Status = JobStatus.Failed,
        Error = new JobError { Message = message, Code = code },
    };
}
