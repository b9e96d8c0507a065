using Jobkeeper.Contracts;
using Jobkeeper.Schedules;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>The schedule routes. Each maps to one <see cref="ScheduleManager"/> call; the rules live there.</summary>
internal static class ScheduleEndpoints
{
    public static async Task<IResult> List(ScheduleManager schedules, CancellationToken cancellationToken) =>
        TypedResults.Json(new ScheduleListResponse(await schedules.ListAsync(cancellationToken).ConfigureAwait(false)), ApiJson.Context.ScheduleListResponse);

    public static async Task<IResult> Get(string name, ScheduleManager schedules, CancellationToken cancellationToken) =>
        TypedResults.Json(await schedules.GetAsync(name, cancellationToken).ConfigureAwait(false), ApiJson.Context.Schedule);

    public static async Task<IResult> Create(HttpContext http, ScheduleManager schedules, IOptions<JobkeeperApiOptions> options, CancellationToken cancellationToken)
    {
        var request = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.NewSchedule, cancellationToken)
            .ConfigureAwait(false);
        var schedule = await schedules.CreateAsync(request, cancellationToken).ConfigureAwait(false);
        http.Response.Headers.Location = "/api/v1/schedules/" + Uri.EscapeDataString(schedule.Name);
        return TypedResults.Json(schedule, ApiJson.Context.Schedule, statusCode: StatusCodes.Status201Created);
    }

    public static async Task<IResult> Update(string name, HttpContext http, ScheduleManager schedules, IOptions<JobkeeperApiOptions> options,
        CancellationToken cancellationToken)
    {
        var patch = await RequestBody.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, ApiJson.Context.UpdateScheduleRequest, cancellationToken)
            .ConfigureAwait(false);
        return TypedResults.Json(await schedules.UpdateAsync(name, patch, cancellationToken).ConfigureAwait(false), ApiJson.Context.Schedule);
    }

    public static async Task<IResult> Delete(string name, ScheduleManager schedules, CancellationToken cancellationToken)
    {
        await schedules.DeleteAsync(name, cancellationToken).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    public static async Task<IResult> Trigger(string name, HttpContext http, ScheduleManager schedules, CancellationToken cancellationToken)
    {
        var (job, schedule) = await schedules.TriggerAsync(name, RequestActor.From(http), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new ScheduleTriggerResponse(job, schedule), ApiJson.Context.ScheduleTriggerResponse);
    }

    public static async Task<IResult> Pause(string name, ScheduleManager schedules, CancellationToken cancellationToken) =>
        TypedResults.Json(await schedules.PauseAsync(name, cancellationToken).ConfigureAwait(false), ApiJson.Context.Schedule);

    public static async Task<IResult> Resume(string name, ScheduleManager schedules, CancellationToken cancellationToken) =>
        TypedResults.Json(await schedules.ResumeAsync(name, cancellationToken).ConfigureAwait(false), ApiJson.Context.Schedule);
}
