using System.Text.Json;
using Jobkeeper.Workers;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Example;

/// <summary>
/// Runs an <c>audio.review</c> job: measures the tempo (a few timed steps with progress), then asks a person
/// two questions — is the tempo right (<c>"tempo"</c>, options yes/no), and what is the title (<c>"title"</c>,
/// an answer checked against a JSON schema) — and returns the measured tempo with both answers.
/// <para>
/// Asking a question the first time stores it on the job, which then waits holding no worker:
/// <see cref="JobContext.AskAsync"/> throws <see cref="JobWaitingException"/>, which must propagate. When the
/// answer arrives, the job is queued and this method runs again from the top; the questions already answered
/// return their answers at once. Everything before a question therefore runs again on every resume, so the
/// tempo measurement is saved with <see cref="JobContext.Checkpoint"/> and skipped once it is there.
/// </para>
/// </summary>
public sealed class ReviewHandler(IOptions<ExampleOptions> options, ExecutionLog executions, TimeProvider time, ILogger<ReviewHandler> logger)
{
    public const string JobType = "audio.review";
    public const string TempoKey = "tempo";
    public const string TitleKey = "title";

    /// <summary>The marker the execution log gets each time the tempo is actually measured.</summary>
    public const string WorkMarker = "work";

    private const int TempoSteps = 4;

    private static readonly string[] YesNo = ["yes", "no"];

    /// <summary>The answer to "title": an object with a non-empty string <c>title</c>, nothing else.</summary>
    public static JsonElement TitleSchema { get; } = JsonDocument.Parse("""
        {
          "type": "object",
          "properties": { "title": { "type": "string", "minLength": 1, "maxLength": 200 } },
          "required": ["title"],
          "additionalProperties": false
        }
        """).RootElement.Clone();

    public async Task<ReviewResult> ReviewAsync(JobContext job, CancellationToken cancellationToken)
    {
        executions.Record(job.JobId, job.Attempt);
        var file = job.GetInput<AnalysisInput>()?.File is { Length: > 0 } name ? name : "unknown";

        // The work before the questions: done once, its outcome kept on the job. On a resume (after an
        // answer, or after a restart) the checkpoint has it and the measurement is skipped.
        var measured = job.Checkpoint.Get<TempoCheckpoint>();
        if (measured is null)
        {
            executions.Record(job.JobId, WorkMarker);
            logger.LogInformation("Measuring the tempo of {File} for job {JobId}", file, job.JobId);
            measured = new TempoCheckpoint(await MeasureTempoAsync(job, file, cancellationToken));
            await job.Checkpoint.SaveAsync(measured, cancellationToken);
        }

        var bpm = measured.TempoBpm;

        // Each question ends this run the first time (the job waits); once answered, it returns the answer.
        var tempo = await job.AskAsync(TempoKey, $"Is {bpm} bpm right?", options: YesNo, cancellationToken: cancellationToken);
        var title = await job.AskAsync(TitleKey, $"What is the title of '{file}'?", schema: TitleSchema, cancellationToken: cancellationToken);

        var titleText = title.Answer?.GetProperty("title").GetString() ?? "";
        logger.LogInformation("Job {JobId} reviewed: {File} at {TempoBpm} bpm ({Tempo}), titled {Title}", job.JobId, file, bpm, tempo.Answer, titleText);
        return new ReviewResult(file, bpm, TempoConfirmed: tempo.Answer?.GetString() == "yes", titleText, new Dictionary<string, ReviewAnswer>
        {
            [TempoKey] = new(tempo.Answer, tempo.AnsweredBy),
            [TitleKey] = new(title.Answer, title.AnsweredBy),
        });
    }

    private async Task<int> MeasureTempoAsync(JobContext job, string file, CancellationToken cancellationToken)
    {
        var delay = options.Value.StepDelay;
        for (var step = 1; step <= TempoSteps; step++)
        {
            await Task.Delay(delay, time, cancellationToken);
            await job.ReportProgressAsync(
                fraction: (double)step / TempoSteps,
                stage: "tempo",
                message: $"Measuring the tempo ({step}/{TempoSteps})",
                current: step,
                total: TempoSteps,
                cancellationToken: cancellationToken);
        }

        return FakeAnalysis.Result(file, time.GetUtcNow().UtcDateTime).TempoBpm;
    }
}

/// <summary>What the review saves on the job before its first question.</summary>
public sealed record TempoCheckpoint(int TempoBpm);

/// <summary>One answer as the result keeps it: the value and who gave it (when, and why, are in the job's prompts).</summary>
public sealed record ReviewAnswer(JsonElement? Answer, string? AnsweredBy);

/// <summary>The result of an <c>audio.review</c> job.</summary>
public sealed record ReviewResult(string File, int TempoBpm, bool TempoConfirmed, string Title, IReadOnlyDictionary<string, ReviewAnswer> Answers);
