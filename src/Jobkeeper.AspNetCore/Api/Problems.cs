using Jobkeeper.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>Maps what <see cref="JobManager"/> refuses to RFC 9457 problem details with the right status.</summary>
internal static class Problems
{
    private const string TypeBase = "https://jobkeeper.dev/problems/";

    public static IResult? FromException(Exception exception) => exception switch
    {
        JobValidationException e => Validation(e.Field, e.Problem),
        JobNotFoundException e => Problem(StatusCodes.Status404NotFound, "job-not-found", "Job not found", e.Message),
        QueueNotFoundException e => Problem(StatusCodes.Status404NotFound, "queue-not-found", "Queue not found", e.Message,
            new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["name"] = ["no queue has this name"] } }),
        ScheduleNotFoundException e => Problem(StatusCodes.Status404NotFound, "schedule-not-found", "Schedule not found", e.Message,
            new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["name"] = ["no schedule has this name"] } }),
        ScheduleExistsException e => Problem(StatusCodes.Status409Conflict, "schedule-exists", "Schedule exists", e.Message,
            new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["name"] = ["a schedule has this name already"] } }),
        DuplicateJobException e => Problem(StatusCodes.Status409Conflict, "duplicate-id", "Duplicate job id", e.Message),
        InvalidTransitionException e => Problem(StatusCodes.Status409Conflict, "invalid-transition", "Status change not allowed", e.Message),
        AnswerRejectedException e => Problem(StatusCodes.Status422UnprocessableEntity, "answer-rejected", "Answer not accepted", e.Message,
            new Dictionary<string, object?> { ["key"] = e.Key, ["why"] = e.Why }),
        LeaseLostException e => Problem(StatusCodes.Status409Conflict, "lease-lost", "Lease not held", e.Message),
        JobStateConflictException e => Problem(StatusCodes.Status409Conflict, "state-conflict", "Not possible in the job's current state", e.Message),
        VersionMismatchException e => Problem(StatusCodes.Status412PreconditionFailed, "version-mismatch", "The job has changed", e.Message,
            new Dictionary<string, object?> { ["current_version"] = e.Actual }),
        PayloadTooLargeException e => Problem(StatusCodes.Status413PayloadTooLarge, "payload-too-large", "Request body too large", e.Message),
        BadHttpRequestException e => Problem(e.StatusCode, "bad-request", "Bad request", e.Message),
        StoreCorruptException e => Problem(StatusCodes.Status500InternalServerError, "store-corrupt", "Store damaged", e.Message),
        StoreUnavailableException e => Problem(StatusCodes.Status503ServiceUnavailable, "store-unavailable", "Store unavailable",
            e.Message + " Retry later."),
        _ => null,
    };

    public static IResult Validation(string field, string problem) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [problem] })
        {
            Status = StatusCodes.Status400BadRequest,
            Type = TypeBase + "invalid-request",
            Title = "Invalid request",
            Detail = $"{field}: {problem}",
        });

    public static IResult Problem(int status, string type, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        var problem = new ProblemDetails { Status = status, Type = TypeBase + type, Title = title, Detail = detail };
        if (extensions is not null)
        {
            foreach (var (key, value) in extensions)
            {
                problem.Extensions[key] = value;
            }
        }

        return TypedResults.Problem(problem);
    }
}

/// <summary>Turns refused requests thrown anywhere in a Jobkeeper endpoint into problem details.</summary>
internal sealed class ProblemEndpointFilter : IEndpointFilter
{
    public static ProblemEndpointFilter Instance { get; } = new();

    private ProblemEndpointFilter()
    {
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (Problems.FromException(ex) is { } problem)
        {
            return problem;
        }
    }
}
