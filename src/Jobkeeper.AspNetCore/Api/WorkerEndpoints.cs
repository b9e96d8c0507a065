using System.Text.Json.Serialization.Metadata;
using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Workers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// The external-worker protocol over HTTP: long-poll claims, then heartbeat, progress, complete, fail and
/// release, each with the lease token the claim returned. Each maps to one <see cref="WorkQueue"/> call.
/// </summary>
internal static class WorkerEndpoints
{
    public static async Task<IResult> Claim(HttpContext http, WorkQueue queue, IHostApplicationLifetime lifetime, IOptions<JobkeeperApiOptions> options,
        CancellationToken cancellationToken)
    {
        var request = await Body(http, options, ApiJson.Context.ClaimJobsRequest, cancellationToken).ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        IReadOnlyList<Job> jobs;
        try
        {
            jobs = await queue.ClaimWaitingAsync(request.WorkerId, request.Types ?? [], request.Queues ?? [], request.Max ?? 1,
                    ContractMapping.Lease(request.LeaseSeconds) ?? JobTransitions.DefaultLease, TimeSpan.FromSeconds(request.WaitSeconds ?? 0), linked.Token)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Shutting down: answer the long poll with nothing rather than leave the worker hanging.
            jobs = [];
        }

        var items = new WorkItem[jobs.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = WorkItem.From(jobs[i]);
        }

        return TypedResults.Json(new ClaimResponse(items), ApiJson.Context.ClaimResponse);
    }

    public static async Task<IResult> Heartbeat(string id, HttpContext http, WorkQueue queue, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var lease = await Body(http, options, ApiJson.Context.LeaseRequest, cancellationToken).ConfigureAwait(false);
        var job = await queue.HeartbeatAsync(id, lease.LeaseToken, ContractMapping.Lease(lease.LeaseSeconds), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(LeaseResponse.From(job), ApiJson.Context.LeaseResponse);
    }

    public static async Task<IResult> Progress(string id, HttpContext http, WorkQueue queue, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = await Body(http, options, ApiJson.Context.ProgressRequest, cancellationToken).ConfigureAwait(false);
        var job = await queue.ReportProgressAsync(id, request.LeaseToken, request.ToPatch(), ContractMapping.Lease(request.LeaseSeconds), cancellationToken)
            .ConfigureAwait(false);
        return TypedResults.Json(LeaseResponse.From(job), ApiJson.Context.LeaseResponse);
    }

    public static async Task<IResult> Complete(string id, HttpContext http, WorkQueue queue, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = await Body(http, options, ApiJson.Context.CompleteRequest, cancellationToken).ConfigureAwait(false);
        return JobResult(http, await queue.CompleteAsync(id, request.LeaseToken, request.Result, cancellationToken).ConfigureAwait(false));
    }

    public static async Task<IResult> Fail(string id, HttpContext http, WorkQueue queue, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = await Body(http, options, ApiJson.Context.FailRequest, cancellationToken).ConfigureAwait(false);
        return JobResult(http, await queue.FailAsync(id, request.LeaseToken, request.Error.ToError(), request.Retry ?? true, cancellationToken: cancellationToken)
            .ConfigureAwait(false));
    }

    public static async Task<IResult> Release(string id, HttpContext http, WorkQueue queue, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var lease = await Body(http, options, ApiJson.Context.LeaseRequest, cancellationToken).ConfigureAwait(false);
        return JobResult(http, await queue.ReleaseAsync(id, lease.LeaseToken, cancellationToken).ConfigureAwait(false));
    }

    private static IResult JobResult(HttpContext http, Job job)
    {
        http.Response.Headers.ETag = HttpPreconditions.ETag(job.Version);
        return TypedResults.Json(job, ApiJson.Context.Job);
    }

    private static Task<T> Body<T>(HttpContext http, IOptions<JobkeeperApiOptions> options, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
        where T : class =>
        RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, typeInfo, cancellationToken);

    /// <summary><c>GET /api/v1/workers</c>: the workers seen in the window and those holding jobs.</summary>
    public static async Task<IResult> List(HttpContext http, JobManager manager, CancellationToken cancellationToken)
    {
        var seconds = 300;
        var values = http.Request.Query["within_seconds"];
        if (values.Count > 0 && (values.Count > 1 || !int.TryParse(values[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out seconds)))
        {
            throw new JobValidationException("within_seconds", $"must be a whole number of seconds from 1 to {JobManager.MaxWorkersWindow.TotalSeconds:0} (got '{ContractErrors.Shorten(values.ToString())}')");
        }

        var workers = await manager.GetWorkersAsync(TimeSpan.FromSeconds(seconds), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new WorkerListResponse(workers, seconds), ApiJson.Context.WorkerListResponse);
    }
}
