using Jobkeeper.Errors;
using Jobkeeper.Model;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Jobkeeper.Example;

/// <summary>
/// <c>POST /analyze</c>: records an <c>audio.analyze</c> job durably and answers 202 at once. Creating the job
/// is all it takes: the committed job wakes Jobkeeper's worker, which runs <see cref="AnalysisHandler"/>.
/// <c>POST /review</c> does the same for an <c>audio.review</c> job, run by <see cref="ReviewHandler"/>.
/// </summary>
public static class AnalyzeEndpoint
{
    public const string JobType = "audio.analyze";
    private const int MaxFileNameLength = 255;

    public static IEndpointRouteBuilder MapAnalyze(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/analyze", AnalyzeAsync)
            .WithName("Analyze")
            .WithSummary("Start a (fake) audio analysis; poll the returned status_url for progress and the result");
        endpoints.MapPost("/review", ReviewAsync)
            .WithName("Review")
            .WithSummary("Start a review: the tempo is measured, then a person is asked two questions (GET status_url + \"/prompt\" to see them)");
        return endpoints;
    }

    private static Task<Results<Accepted<AnalyzeResponse>, ValidationProblem, ProblemHttpResult>> AnalyzeAsync(
        AnalyzeRequest? request, JobManager jobs, ILoggerFactory loggers, CancellationToken cancellationToken) =>
        StartAsync(JobType, request, jobs, loggers, cancellationToken);

    private static Task<Results<Accepted<AnalyzeResponse>, ValidationProblem, ProblemHttpResult>> ReviewAsync(
        AnalyzeRequest? request, JobManager jobs, ILoggerFactory loggers, CancellationToken cancellationToken) =>
        StartAsync(ReviewHandler.JobType, request, jobs, loggers, cancellationToken);

    private static async Task<Results<Accepted<AnalyzeResponse>, ValidationProblem, ProblemHttpResult>> StartAsync(
        string jobType,
        AnalyzeRequest? request,
        JobManager jobs,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var file = request?.File?.Trim();
        if (string.IsNullOrEmpty(file) || file.Length > MaxFileNameLength)
        {
            return Invalid("file", $"is required: the name of the audio file to analyze, 1–{MaxFileNameLength} characters, e.g. \"song.mp3\"");
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["app"] = "example", ["file"] = file };
        if (!string.IsNullOrWhiteSpace(request!.User))
        {
            labels["user"] = request.User.Trim();
        }

        Job job;
        try
        {
            job = await jobs.CreateAsync(new NewJob
            {
                Type = jobType,
                Input = ExampleJson.ToElement(new AnalysisInput(file)),
                Labels = labels,
            }, cancellationToken);
        }
        catch (JobValidationException ex)
        {
            return Invalid(ex.Field, ex.Problem);
        }
        catch (StoreUnavailableException ex)
        {
            return TypedResults.Problem(ex.Message + " Retry later.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Store unavailable");
        }

        loggers.CreateLogger(typeof(AnalyzeEndpoint).FullName!).LogInformation("Queued {JobType} job {JobId} for {File}", jobType, job.Id, file);

        var statusUrl = "/api/v1/jobs/" + Uri.EscapeDataString(job.Id);
        return TypedResults.Accepted(statusUrl, new AnalyzeResponse(job.Id, job.Status.ToName(), statusUrl, statusUrl + "/events"));
    }

    private static ValidationProblem Invalid(string field, string problem) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [problem] }, detail: $"{field}: {problem}");
}

/// <summary>The body of <c>POST /analyze</c> and <c>POST /review</c>.</summary>
public sealed record AnalyzeRequest(string? File, string? User);

/// <summary>The 202 answer: where to follow the job.</summary>
public sealed record AnalyzeResponse(string JobId, string Status, string StatusUrl, string EventsUrl);

/// <summary>The job's input as stored in Jobkeeper.</summary>
public sealed record AnalysisInput(string File);
