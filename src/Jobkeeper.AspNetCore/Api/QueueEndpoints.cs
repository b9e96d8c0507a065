using Jobkeeper.Contracts;
using Jobkeeper.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>The queue routes: settings and state at a glance. Each maps to one <see cref="QueueManager"/> call; the rules live there.</summary>
internal static class QueueEndpoints
{
    public static async Task<IResult> List(QueueManager queues, CancellationToken cancellationToken) =>
        TypedResults.Json(new QueueListResponse(await queues.ListAsync(cancellationToken).ConfigureAwait(false)), ApiJson.Context.QueueListResponse);

    public static async Task<IResult> Get(string name, QueueManager queues, CancellationToken cancellationToken) =>
        TypedResults.Json(await queues.GetAsync(name, cancellationToken).ConfigureAwait(false), ApiJson.Context.QueueInfo);

    public static async Task<IResult> Update(string name, HttpContext http, QueueManager queues, IOptions<JobkeeperApiOptions> options,
        CancellationToken cancellationToken)
    {
        var patch = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.UpdateQueueRequest, cancellationToken)
            .ConfigureAwait(false);
        var queue = await queues.UpdateAsync(name, patch, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(queue, ApiJson.Context.QueueInfo);
    }

    public static async Task<IResult> Pause(string name, HttpContext http, QueueManager queues, IOptions<JobkeeperApiOptions> options,
        CancellationToken cancellationToken)
    {
        var request = await OptionalBody(http, options, cancellationToken).ConfigureAwait(false);
        var queue = await queues.PauseAsync(name, request?.Type, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(queue, ApiJson.Context.QueueInfo);
    }

    public static async Task<IResult> Resume(string name, HttpContext http, QueueManager queues, IOptions<JobkeeperApiOptions> options,
        CancellationToken cancellationToken)
    {
        var request = await OptionalBody(http, options, cancellationToken).ConfigureAwait(false);
        var queue = await queues.ResumeAsync(name, request?.Type, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(queue, ApiJson.Context.QueueInfo);
    }

    /// <summary>The body of a pause or resume, which may be left out (then the whole queue).</summary>
    private static async Task<PauseQueueRequest?> OptionalBody(HttpContext http, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (request.ContentLength == 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count == 0))
        {
            return null;
        }

        return await RequestBody.ReadJsonAsync(request, options.Value.MaxRequestBodyBytes, ApiJson.Context.PauseQueueRequest, cancellationToken)
            .ConfigureAwait(false);
    }
}
