using Jobkeeper.Contracts;

namespace Jobkeeper.Schedules;

/// <summary>How schedules run (<c>Jobkeeper:Schedules</c>), and the schedules declared in code.</summary>
public sealed class ScheduleOptions
{
    /// <summary>How often the elected instance looks for due schedules (default 1 s): how late a fire may be.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A fire time later than this when it is fired is a misfire (the server was down, or nothing ran the schedule), handled by
    /// the schedule's <c>misfire</c> policy; one within it simply fires (default 1 minute).
    /// </summary>
    public TimeSpan MisfireGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Schedules declared at start (<see cref="Hosting.JobkeeperBuilderScheduleExtensions.AddSchedule(Hosting.JobkeeperBuilder, NewSchedule)"/>): created
    /// when missing, their definition brought up to date when it differs; their paused flag and history are kept.
    /// </summary>
    public IList<NewSchedule> Declared { get; } = [];
}
