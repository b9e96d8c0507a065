using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Workers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>Human in the loop over HTTP: read the open prompt, answer it, and (for external workers) ask one or save a checkpoint.</summary>
internal static class PromptEndpoints
{
    public static async Task<IResult> GetOpen(string id, JobManager manager, CancellationToken cancellationToken)
    {
        var prompt = await manager.GetOpenPromptAsync(id, cancellationToken).ConfigureAwait(false);
        return prompt is null
            ? Problems.Problem(StatusCodes.Status404NotFound, "no-open-prompt", "No open prompt",
                $"Job '{id}' is not waiting on a question. Its prompts, answered ones included, are in GET /api/v1/jobs/{id}.")
            : TypedResults.Json(prompt, ApiJson.Context.JobPrompt);
    }

    public static async Task<IResult> Answer(string id, HttpContext http, JobManager manager, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var call = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.AnswerPromptRequest, cancellationToken)
            .ConfigureAwait(false);
        var answer = call.RequiredAnswer();
        // With a key, answered_by (else X-Actor) is only a display name: the key's name is who answered.
        var answeredBy = RequestActor.From(http, call.AnsweredBy);
        var job = await manager.AnswerAsync(id, answer, call.Confidence, answeredBy, call.Reason, call.Key, cancellationToken).ConfigureAwait(false);
        http.Response.Headers.ETag = HttpPreconditions.ETag(job.Version);
        return TypedResults.Json(job, ApiJson.Context.Job);
    }

    public static async Task<IResult> Ask(string id, HttpContext http, WorkQueue queue, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.AskPromptRequest, cancellationToken)
            .ConfigureAwait(false);
        var (job, prompt) = await queue.AskAsync(id, request.LeaseToken, request.ToPrompt(), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new PromptAskResponse(Waiting: prompt is { IsOpen: true }, prompt, job.Status), ApiJson.Context.PromptAskResponse);
    }

    public static async Task<IResult> SaveCheckpoint(string id, HttpContext http, WorkQueue queue, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.CheckpointRequest, cancellationToken)
            .ConfigureAwait(false);
        var job = await queue.SaveCheckpointAsync(id, request.LeaseToken, request.State, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(LeaseResponse.From(job), ApiJson.Context.LeaseResponse);
    }
}
