using System.Globalization;
using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>The job routes. Each maps HTTP to one <see cref="JobManager"/> call; the rules live there.</summary>
internal static class JobEndpoints
{
    /// <summary>The lease owner of a job an HTTP caller set running without naming itself.</summary>
    private const string ApiLeaseOwner = "api";

    public static async Task<IResult> Create(HttpContext http, JobManager manager, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.NewJob, cancellationToken)
            .ConfigureAwait(false);

        request = IdempotencyKey.Apply(http.Request, request, options.Value.IdempotencyKeyWindow);
        var job = await manager.CreateAsync(request, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        http.Response.Headers.Location = "/api/v1/jobs/" + Uri.EscapeDataString(job.Id);
        http.Response.Headers.ETag = HttpPreconditions.ETag(job.Version);
        if (job.Existing == true)
        {
            // Nothing was added: the job the key names answers, as it is now.
            http.Response.Headers[IdempotencyKey.ExistingHeader] = "true";
            return TypedResults.Json(job, ApiJson.Context.Job, statusCode: StatusCodes.Status200OK);
        }

        return TypedResults.Json(job, ApiJson.Context.Job, statusCode: StatusCodes.Status201Created);
    }

    public static async Task<IResult> CreateMany(HttpContext http, JobManager manager, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.BatchCreateRequest, cancellationToken)
            .ConfigureAwait(false);
        var items = await manager.CreateManyAsync(request.Jobs, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        var created = items.Count(i => i.Outcome == BatchCreateItem.CreatedOutcome);
        return TypedResults.Json(new BatchCreateResponse(created, items), ApiJson.Context.BatchCreateResponse);
    }

    /// <summary>
    /// A cached job is answered without awaiting (no state machine or task per request) and with its body made once
    /// (<see cref="JobJson"/>).
    /// </summary>
    public static ValueTask<IResult> Get(string id, HttpContext http, JobManager manager, CancellationToken cancellationToken)
    {
        var pending = manager.GetAsync(id, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return GetAsync(id, http, manager, pending, cancellationToken);
        }

        var cached = pending.Result;
        return cached is { Status: JobStatus.Queued } ? HeldBackAsync(id, http, manager, cached, cancellationToken) : ValueTask.FromResult(Answer(id, http, cached));

        static async ValueTask<IResult> GetAsync(string id, HttpContext http, JobManager manager, ValueTask<Job?> pending, CancellationToken cancellationToken)
        {
            var job = await pending.ConfigureAwait(false);
            return job is { Status: JobStatus.Queued } ? await HeldBackAsync(id, http, manager, job, cancellationToken).ConfigureAwait(false) : Answer(id, http, job);
        }

        // A queued job may be held back by its queue's settings: it says why, worked out now.
        static async ValueTask<IResult> HeldBackAsync(string id, HttpContext http, JobManager manager, Job job, CancellationToken cancellationToken) =>
            Answer(id, http, await manager.WithBlockedByAsync(job, cancellationToken).ConfigureAwait(false));

        static IResult Answer(string id, HttpContext http, Job? job)
        {
            var json = JobJson.Of(job ?? throw new JobNotFoundException(id));
            http.Response.Headers.ETag = json.ETag;
            // blocked_by changes without a new version: a held-back job is always sent whole.
            return job.BlockedBy is null && HttpPreconditions.NotModified(http.Request, json.ETag) ? NotModified : json;
        }
    }

    private static readonly IResult NotModified = TypedResults.StatusCode(StatusCodes.Status304NotModified);

    public static async Task<IResult> List(HttpContext http, JobManager manager, CancellationToken cancellationToken)
    {
        var page = await manager.ListAsync(JobQueryParser.Parse(http.Request.Query), cancellationToken).ConfigureAwait(false);
        var items = await manager.WithBlockedByAsync(page.Items, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new JobListResponse(items, page.Next?.Encode()), ApiJson.Context.JobListResponse);
    }

    public static async Task<IResult> Update(string id, HttpContext http, JobManager manager, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var expected = HttpPreconditions.ExpectedVersion(http.Request);
        var actor = RequestActor.From(http);
        var request = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.UpdateJobRequest, cancellationToken)
            .ConfigureAwait(false);
        var patch = request.ToPatch();

        // The caller drives a job it sets running, not this server: its lease is renewed by the caller's updates only.
        patch = patch with { LeaseOwner = actor?.Name ?? ApiLeaseOwner };
        var job = await manager.UpdateAsync(id, patch, expected, actor, cancellationToken).ConfigureAwait(false);
        http.Response.Headers.ETag = HttpPreconditions.ETag(job.Version);
        return TypedResults.Json(job, ApiJson.Context.Job);
    }

    public static async Task<IResult> Cancel(string id, HttpContext http, JobManager manager, CancellationToken cancellationToken)
    {
        var job = await manager.CancelAsync(id, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        http.Response.Headers.ETag = HttpPreconditions.ETag(job.Version);
        return TypedResults.Json(job, ApiJson.Context.Job);
    }

    public static async Task<IResult> Retry(string id, HttpContext http, JobManager manager, CancellationToken cancellationToken)
    {
        var job = await manager.RetryAsync(id, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        http.Response.Headers.ETag = HttpPreconditions.ETag(job.Version);
        return TypedResults.Json(job, ApiJson.Context.Job);
    }

    public static async Task<IResult> Delete(string id, HttpContext http, JobManager manager, CancellationToken cancellationToken)
    {
        await manager.DeleteAsync(id, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// One action on every job a filter matches. Deleting needs the admin role, as deleting one job does; retry and cancel
    /// need submit (the route's own role).
    /// </summary>
    public static async Task<IResult> Bulk(HttpContext http, JobManager manager, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.BulkActionRequest, cancellationToken)
            .ConfigureAwait(false);
        var action = request.Action switch
        {
            BulkActionRequest.RetryAction => JobBulkAction.Retry,
            BulkActionRequest.CancelAction => JobBulkAction.Cancel,
            BulkActionRequest.DeleteAction => JobBulkAction.Delete,
            _ => throw new JobValidationException("action", $"must be retry, cancel or delete (got '{ContractErrors.Shorten(request.Action)}')"),
        };
        if (action == JobBulkAction.Delete && http.RequestServices.GetService(typeof(Security.JobkeeperAuthorizationMarker)) is not null
            && !Security.JobkeeperRoleRequirement.Allows(http.User, Security.JobkeeperRoles.Admin))
        {
            return Problems.Problem(StatusCodes.Status403Forbidden, "forbidden", "Forbidden",
                "A bulk delete needs a key with the admin role; retry and cancel need submit.");
        }

        var filter = JobQueryParser.FromFilter(request.Filter);
        var dryRun = request.DryRun ?? false;
        var result = await manager.BulkAsync(action, filter, request.All ?? false, dryRun, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new BulkActionResponse(request.Action, dryRun, result.Matched, result.Changed, result.Skipped), ApiJson.Context.BulkActionResponse);
    }

    public static async Task<IResult> Cleanup(HttpContext http, JobManager manager, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var days = options.Value.DefaultCleanupDays;
        var values = http.Request.Query["days"];
        if (values.Count > 0 && (values.Count > 1 || !int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out days)))
        {
            throw new JobValidationException("days", $"must be a whole number of days, zero or more (got '{ContractErrors.Shorten(values.ToString())}')");
        }

        var result = await manager.CleanupAsync(days, cancellationToken).ConfigureAwait(false);
        var message = $"Cleaned up {result.DeletedCount} {(result.DeletedCount == 1 ? "job" : "jobs")} finished more than {days} {(days == 1 ? "day" : "days")} ago";
        return TypedResults.Json(new CleanupResponse(result.DeletedCount, result.RetentionDays, message), ApiJson.Context.CleanupResponse);
    }

    public static async Task<IResult> Events(string id, HttpContext http, JobManager manager, CancellationToken cancellationToken)
    {
        var after = ParseLong(http.Request.Query["after"].ToString(), "after", 0);
        var limit = (int)ParseLong(http.Request.Query["limit"].ToString(), "limit", 1000);
        var events = await manager.GetEventsAsync(id, after, limit, cancellationToken).ConfigureAwait(false);
        long? nextAfter = events.Count == limit ? events[^1].Id : null;
        return TypedResults.Json(new JobEventListResponse(events, nextAfter), ApiJson.Context.JobEventListResponse);
    }

    private static long ParseLong(string text, string field, long fallback)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= int.MaxValue
            ? value
            : throw new JobValidationException(field, $"must be a whole number, zero or more (got '{ContractErrors.Shorten(text)}')");
    }
}
