using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>The body of <c>POST /api/v1/schedules</c>.</summary>
[Description("A new schedule. Unknown members are refused.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record NewSchedule
{
    [Description("1–128 of A-Z a-z 0-9 . _ : -")]
    [StringLength(JobIds.MaxLength, MinimumLength = 1)]
    [RegularExpression(JobIds.Pattern)]
    public required string Name { get; init; }

    [Description("5 fields, or 6 with seconds first; or give `interval_seconds`.")]
    public string? Cron { get; init; }

    [Description("Fires every this many seconds (1 to a year), counted from the Unix epoch; or give `cron`.")]
    public int? IntervalSeconds { get; init; }

    [Description("IANA time zone of the cron expression (default UTC).")]
    public string? TimeZone { get; init; }

    public required ScheduleJob Job { get; init; }

    [Description("`skip`, `fire_once` (default) or `catch_up`.")]
    public string? Misfire { get; init; }

    [Description("With `catch_up`: the most missed fire times fired (1–1000, default 10).")]
    public int? CatchUpLimit { get; init; }

    [Description("`allow` (default), `skip` or `cancel_previous`.")]
    public string? Overlap { get; init; }

    [Description("Created paused.")]
    public bool Paused { get; init; }
}

/// <summary>The body of <c>PATCH /api/v1/schedules/{name}</c>: a JSON merge patch.</summary>
[Description("A JSON merge patch of a schedule: absent members stay as they are. Unknown members are refused.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UpdateScheduleRequest
{
    [Description("A new cron expression (clears `interval_seconds`).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<string?> Cron { get; init; }

    [Description("A new interval (clears `cron` and `time_zone`).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<int?> IntervalSeconds { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<string?> TimeZone { get; init; }

    [Description("The whole job template (replaces it).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<ScheduleJob?> Job { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<string?> Misfire { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<int?> CatchUpLimit { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<string?> Overlap { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<bool?> Paused { get; init; }
}
