using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Jobkeeper.Model;

/// <summary>
/// A recurring schedule, stored in the database: when it fires (a cron expression in a time zone, or an interval), the job
/// each fire creates, what happens to fire times missed while nothing ran it and to a run that is still going, whether it
/// is paused, and what it did last.
/// </summary>
[Description("A recurring schedule: each fire time creates at most one job, across instances and crashes.")]
public sealed record Schedule
{
    [Description("The schedule's name: 1–128 of A-Z a-z 0-9 . _ : -")]
    public required string Name { get; init; }

    [Description("A cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first. Null when `interval_seconds` is set.")]
    public string? Cron { get; init; }

    [Description("A fixed interval in seconds, counted from the Unix epoch (3600 fires on the hour, UTC). Null when `cron` is set.")]
    public int? IntervalSeconds { get; init; }

    [Description("The IANA time zone the cron expression is read in (default UTC); across DST a skipped time fires once and a repeated one once.")]
    public string? TimeZone { get; init; }

    [Description("The job each fire creates.")]
    public required ScheduleJob Job { get; init; }

    [Description("Fire times missed while nothing ran the schedule (more than a minute late): `skip` them, `fire_once` for all of them (default), or `catch_up` the last `catch_up_limit` of them.")]
    public string Misfire { get; init; } = ScheduleMisfire.FireOnce;

    [Description("With `misfire` `catch_up`: at most this many missed fire times are fired (default 10).")]
    public int? CatchUpLimit { get; init; }

    [Description("When a fire comes while the previous fire's job is still unfinished: `allow` it (default), `skip` this fire, or `cancel_previous` and fire.")]
    public string Overlap { get; init; } = ScheduleOverlap.Allow;

    [Description("True while paused: it does not fire (fire times during a pause are not caught up).")]
    public bool Paused { get; init; }

    [Description("The next fire times (read only; up to 5).")]
    public IReadOnlyList<DateTimeOffset> NextRuns { get; init; } = [];

    [Description("The fire time the schedule fires next (read only; null when paused or when the expression never fires again).")]
    public DateTimeOffset? NextFireAt { get; init; }

    [Description("The fire time of the last fire (read only).")]
    public DateTimeOffset? LastFireAt { get; init; }

    [Description("The job the last fire (or trigger) created (read only).")]
    public string? LastJobId { get; init; }

    [Description("Fire times skipped so far, by the misfire or the overlap policy (read only).")]
    public long SkippedFires { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    [Description("+1 on every change.")]
    public long Version { get; init; }
}

/// <summary>The job a schedule's fire creates.</summary>
[Description("The job each fire creates: `type` (required), `queue`, `input`, `labels`, `priority`, `max_attempts`.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ScheduleJob
{
    [StringLength(JobLimits.MaxTypeLength, MinimumLength = 1)]
    public required string Type { get; init; }

    [StringLength(JobQueues.MaxLength, MinimumLength = 1)]
    [RegularExpression(JobQueues.Pattern)]
    public string? Queue { get; init; }

    public JsonElement? Input { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    public int Priority { get; init; }

    [Range(1, JobLimits.MaxAttempts)]
    public int? MaxAttempts { get; init; }
}

/// <summary>The <see cref="Schedule.Misfire"/> policies.</summary>
public static class ScheduleMisfire
{
    public const string Skip = "skip";
    public const string FireOnce = "fire_once";
    public const string CatchUp = "catch_up";

    public static IReadOnlyList<string> All { get; } = [Skip, FireOnce, CatchUp];
}

/// <summary>The <see cref="Schedule.Overlap"/> policies.</summary>
public static class ScheduleOverlap
{
    public const string Allow = "allow";
    public const string Skip = "skip";
    public const string CancelPrevious = "cancel_previous";

    public static IReadOnlyList<string> All { get; } = [Allow, Skip, CancelPrevious];
}
