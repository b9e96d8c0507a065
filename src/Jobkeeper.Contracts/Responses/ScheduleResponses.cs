using System.ComponentModel;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>What <c>GET /api/v1/schedules</c> returns: every schedule, by name.</summary>
[Description("Every schedule, by name.")]
public sealed record ScheduleListResponse(IReadOnlyList<Schedule> Items);

/// <summary>What <c>POST /api/v1/schedules/{name}/trigger</c> returns: the job the extra run created, and the schedule.</summary>
[Description("The job the extra run created, and the schedule after it.")]
public sealed record ScheduleTriggerResponse(Job Job, Schedule Schedule);
