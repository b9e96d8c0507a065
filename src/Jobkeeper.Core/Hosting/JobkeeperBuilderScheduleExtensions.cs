using Jobkeeper.Contracts;
using Jobkeeper.Model;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Hosting;

/// <summary>Schedules declared in code: stored at start, idempotent across restarts and instances.</summary>
public static class JobkeeperBuilderScheduleExtensions
{
    /// <summary>
    /// Declares a schedule: created at start when the store has none of that name; its definition brought up to date when it
    /// differs (its paused flag, set at run time, and its history are kept). Invalid declarations fail the start, naming the field.
    /// </summary>
    public static JobkeeperBuilder AddSchedule(this JobkeeperBuilder builder, NewSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(schedule);
        builder.Services.Configure<JobkeeperOptions>(o => o.Schedules.Declared.Add(schedule));
        return builder;
    }

    /// <summary>Declares a cron schedule that creates a job of <paramref name="jobType"/> (see <see cref="AddSchedule(JobkeeperBuilder, NewSchedule)"/>).</summary>
    public static JobkeeperBuilder AddSchedule(this JobkeeperBuilder builder, string name, string cron, string jobType, string? timeZone = null) =>
        builder.AddSchedule(new NewSchedule { Name = name, Cron = cron, TimeZone = timeZone, Job = new ScheduleJob { Type = jobType } });
}
