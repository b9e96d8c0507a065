using System.Text.Json;
using Jobkeeper.Workers;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Example;

/// <summary>
/// Runs one attempt of an <c>audio.analyze</c> job; registered with <c>AddHandler</c>, so Jobkeeper claims the
/// job under a lease, calls this, and records what it returns as the job's result (or what it throws as the
/// error). It only does the work: reports progress after every step (which also renews the lease), stops
/// when <paramref name="cancellationToken"/> fires (the job was cancelled, or the app is shutting down),
/// and returns the result. Claiming, completing, retrying and recovery after a crash are Jobkeeper's.
/// </summary>
public sealed class AnalysisHandler(IOptions<ExampleOptions> options, ExecutionLog executions, TimeProvider time, ILogger<AnalysisHandler> logger)
{
    public async Task<AnalysisResult> AnalyzeAsync(JobContext job, CancellationToken cancellationToken)
    {
        executions.Record(job.JobId, job.Attempt);
        var file = job.InputJson is { ValueKind: JsonValueKind.Object } input && input.TryGetProperty("file", out var f)
            && f.ValueKind == JsonValueKind.String && f.GetString() is { Length: > 0 } name ? name : "unknown";
        logger.LogInformation("Analyzing {File} for job {JobId}, attempt {Attempt}", file, job.JobId, job.Attempt);

        // An attempt starts from the beginning: a job resumed after a crash or a shutdown runs every step again.
        await ReportAsync(job, 0, "starting", "Analysis started", cancellationToken);
        var delay = options.Value.StepDelay;
        var done = 0;
        foreach (var stage in FakeAnalysis.Stages)
        {
            for (var step = 1; step <= stage.Steps; step++)
            {
                await FakeAnalysis.StepAsync(file, stage, step, delay, time, cancellationToken);
                done++;
                await ReportAsync(job, done, stage.Name, $"{stage.Description} ({step}/{stage.Steps})", cancellationToken);
            }
        }

        var result = FakeAnalysis.Result(file, time.GetUtcNow().UtcDateTime);
        await ReportAsync(job, FakeAnalysis.TotalSteps, "done", "Analysis complete", cancellationToken);
        logger.LogInformation("Job {JobId} analyzed: {File} is {TempoBpm} BPM in {Key}", job.JobId, file, result.TempoBpm, result.Key);
        return result;
    }

    private static Task ReportAsync(JobContext job, int done, string stage, string message, CancellationToken cancellationToken) =>
        job.ReportProgressAsync(
            fraction: Math.Round((double)done / FakeAnalysis.TotalSteps, 4),
            stage: stage,
            message: message,
            current: done,
            total: FakeAnalysis.TotalSteps,
            cancellationToken: cancellationToken);
}
