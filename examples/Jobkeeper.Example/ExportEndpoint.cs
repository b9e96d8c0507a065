using Jobkeeper.Errors;
using Jobkeeper.Model;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Jobkeeper.Example;

/// <summary>
/// <c>POST /exports</c>: a job the app drives itself, the way apps used to track work in a dictionary: it creates the
/// job, sets it running and reports progress from its own code (<see cref="ExportRunner"/>), with no handler. Setting
/// it running gives it a lease that this process renews while it lives; if the process dies, the job is recovered after
/// the lease (nothing else runs <c>report.export</c>, so it fails with <c>no_runner</c> and can be retried).
/// </summary>
public static class ExportEndpoint
{
    public const string JobType = "report.export";

    public static IEndpointRouteBuilder MapExports(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/exports", StartAsync)
            .WithName("Export")
            .WithSummary("Start a (fake) report export that the app drives itself; poll the returned status_url");
        return endpoints;
    }

    private static async Task<Results<Accepted<AnalyzeResponse>, ProblemHttpResult>> StartAsync(
        JobManager jobs, ExportRunner runner, CancellationToken cancellationToken)
    {
        Job job;
        try
        {
            job = await jobs.CreateAsync(new NewJob { Type = JobType, Labels = new Dictionary<string, string> { ["app"] = "example" } }, cancellationToken);
            job = await jobs.UpdateAsync(job.Id, new JobPatch { Status = JobStatus.Running, Progress = new ProgressPatch { Fraction = 0, Stage = "start" } },
                cancellationToken: cancellationToken);
        }
        catch (StoreUnavailableException ex)
        {
            return TypedResults.Problem(ex.Message + " Retry later.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "Store unavailable");
        }

        runner.Enqueue(job.Id);
        var statusUrl = "/api/v1/jobs/" + Uri.EscapeDataString(job.Id);
        return TypedResults.Accepted(statusUrl, new AnalyzeResponse(job.Id, job.Status.ToName(), statusUrl, statusUrl + "/events"));
    }
}
