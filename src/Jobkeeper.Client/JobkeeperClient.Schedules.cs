using Jobkeeper.Contracts;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Client;

/// <summary>The schedule routes: recurring schedules that fire once per fire time.</summary>
public sealed partial class JobkeeperClient
{
    /// <summary>Every schedule, with its next fire times (<c>GET /api/v1/schedules</c>).</summary>
    public async Task<IReadOnlyList<Schedule>> ListSchedulesAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(Api + "schedules", cancellationToken).ConfigureAwait(false);
        return (await ReadAsync(response, JobkeeperJsonContext.Default.ScheduleListResponse, cancellationToken).ConfigureAwait(false)).Items;
    }

    /// <summary>One schedule; an unknown one throws <see cref="JobkeeperApiException"/> (404).</summary>
    public async Task<Schedule> GetScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(SchedulePath(name), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, JobkeeperJsonContext.Default.Schedule, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a schedule (201); a taken name throws (409).</summary>
    public Task<Schedule> CreateScheduleAsync(NewSchedule schedule, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, Api + "schedules", schedule, JobkeeperJsonContext.Default.NewSchedule, JobkeeperJsonContext.Default.Schedule, cancellationToken);

    /// <summary>Changes a schedule (a merge patch); a new timing counts from now.</summary>
    public Task<Schedule> UpdateScheduleAsync(string name, UpdateScheduleRequest patch, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Patch, SchedulePath(name), patch, JobkeeperJsonContext.Default.UpdateScheduleRequest, JobkeeperJsonContext.Default.Schedule,
            cancellationToken);

    /// <summary>Deletes a schedule; the jobs it created stay.</summary>
    public async Task DeleteScheduleAsync(string name, CancellationToken cancellationToken = default)
    {
        using var response = await Http.DeleteAsync(SchedulePath(name), cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An extra run now: the job it created, and the schedule.</summary>
    public Task<ScheduleTriggerResponse> TriggerScheduleAsync(string name, string? actor = null, string? reason = null, CancellationToken cancellationToken = default) =>
        SendAsync<object, ScheduleTriggerResponse>(HttpMethod.Post, SchedulePath(name) + "/trigger", null, null!,
            JobkeeperJsonContext.Default.ScheduleTriggerResponse, cancellationToken, actor, reason);

    public Task<Schedule> PauseScheduleAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync<object, Schedule>(HttpMethod.Post, SchedulePath(name) + "/pause", null, null!, JobkeeperJsonContext.Default.Schedule, cancellationToken);

    public Task<Schedule> ResumeScheduleAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync<object, Schedule>(HttpMethod.Post, SchedulePath(name) + "/resume", null, null!, JobkeeperJsonContext.Default.Schedule, cancellationToken);

    private static string SchedulePath(string name) => Api + "schedules/" + Uri.EscapeDataString(name);
}
