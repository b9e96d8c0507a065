using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.Schedules;

/// <summary>What a schedule may be, how a change applies to it, and the job a fire creates: the one place these rules are stated.</summary>
internal static class ScheduleRules
{
    public const int DefaultCatchUpLimit = 10;
    public const int MaxCatchUpLimit = 1000;

    /// <summary>How many fire times <see cref="Schedule.NextRuns"/> shows.</summary>
    public const int NextRunsShown = 5;

    public static void ValidateName(string name)
    {
        if (!JobIds.IsValid(name))
        {
            throw new JobValidationException("name", $"must be 1–{JobIds.MaxLength} characters of A-Z a-z 0-9 . _ : -");
        }
    }

    /// <summary>A new schedule as stored (not fired yet: its next fire time comes from the runner), or the field that is wrong.</summary>
    public static Schedule New(NewSchedule request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateName(request.Name);
        var schedule = new Schedule
        {
            Name = request.Name,
            Cron = request.Cron,
            IntervalSeconds = request.IntervalSeconds,
            TimeZone = request.TimeZone,
            Job = request.Job ?? throw new JobValidationException("job", "is required: {\"type\": \"...\"} at least"),
            Misfire = request.Misfire ?? ScheduleMisfire.FireOnce,
            CatchUpLimit = request.CatchUpLimit,
            Overlap = request.Overlap ?? ScheduleOverlap.Allow,
            Paused = request.Paused,
            CreatedAt = now,
            UpdatedAt = now,
            Version = 1,
        };
        return Validated(schedule, now, timingChanged: true);
    }

    /// <summary>A merge patch applied: a change of timing starts from now; resuming starts from now (a pause is not caught up).</summary>
    public static Schedule Apply(Schedule current, UpdateScheduleRequest patch, DateTimeOffset now)
    {
        var next = current;
        if (patch.IntervalSeconds.HasValue)
        {
            next = next with { IntervalSeconds = patch.IntervalSeconds.Value, Cron = patch.IntervalSeconds.Value is null ? next.Cron : null };
            next = patch.IntervalSeconds.Value is null || patch.TimeZone.HasValue ? next : next with { TimeZone = null };
        }

        if (patch.Cron.HasValue)
        {
            next = next with { Cron = patch.Cron.Value, IntervalSeconds = patch.Cron.Value is null ? next.IntervalSeconds : null };
        }

        if (patch.TimeZone.HasValue)
        {
            next = next with { TimeZone = patch.TimeZone.Value };
        }

        if (patch.Job.HasValue)
        {
            next = next with { Job = patch.Job.Value ?? throw new JobValidationException("job", "cannot be null: give the whole job template") };
        }

        next = next with
        {
            Misfire = patch.Misfire.HasValue ? patch.Misfire.Value ?? ScheduleMisfire.FireOnce : next.Misfire,
            CatchUpLimit = patch.CatchUpLimit.HasValue ? patch.CatchUpLimit.Value : next.CatchUpLimit,
            Overlap = patch.Overlap.HasValue ? patch.Overlap.Value ?? ScheduleOverlap.Allow : next.Overlap,
            Paused = patch.Paused.HasValue ? patch.Paused.Value ?? false : next.Paused,
        };
        var timingChanged = next.Cron != current.Cron || next.IntervalSeconds != current.IntervalSeconds || next.TimeZone != current.TimeZone
            || (current.Paused && !next.Paused);
        return Changed(current, Validated(next, now, timingChanged), now);
    }

    /// <summary>The schedule with its definition taken from <paramref name="declared"/> (its state kept), or itself when they agree.</summary>
    public static Schedule Declare(Schedule current, NewSchedule declared, DateTimeOffset now)
    {
        var wanted = New(declared, now) with { Paused = current.Paused };
        var same = wanted.Cron == current.Cron && wanted.IntervalSeconds == current.IntervalSeconds && wanted.TimeZone == current.TimeZone
            && wanted.Misfire == current.Misfire && wanted.CatchUpLimit == current.CatchUpLimit && wanted.Overlap == current.Overlap
            && SameJob(wanted.Job, current.Job);
        if (same)
        {
            return current;
        }

        var timingChanged = wanted.Cron != current.Cron || wanted.IntervalSeconds != current.IntervalSeconds || wanted.TimeZone != current.TimeZone;
        var next = current with
        {
            Cron = wanted.Cron, IntervalSeconds = wanted.IntervalSeconds, TimeZone = wanted.TimeZone, Job = wanted.Job,
            Misfire = wanted.Misfire, CatchUpLimit = wanted.CatchUpLimit, Overlap = wanted.Overlap,
        };
        return Changed(current, Validated(next, now, timingChanged), now);
    }

    /// <summary>Paused or resumed; resuming counts from now.</summary>
    public static Schedule Pause(Schedule current, bool paused, DateTimeOffset now) =>
        current.Paused == paused ? current : Changed(current, Validated(current with { Paused = paused }, now, timingChanged: !paused), now);

    public static ScheduleTiming Timing(Schedule schedule) => ScheduleTiming.Parse(schedule.Cron, schedule.IntervalSeconds, schedule.TimeZone);

    /// <summary>The schedule as shown: with its next fire times from now (none while paused).</summary>
    public static Schedule Shown(Schedule schedule, DateTimeOffset now)
    {
        if (schedule.Paused)
        {
            return schedule with { NextRuns = [] };
        }

        var timing = Timing(schedule);
        // A due fire not yet fired comes first (the runner is about to fire it).
        var from = schedule.NextFireAt is { } due && due <= now ? due.AddTicks(-1) : now;
        return schedule with { NextRuns = timing.Next(from, NextRunsShown) };
    }

    /// <summary>
    /// The unique key of the job a fire creates: the schedule and the fire time, so two fires of one time, on any instance,
    /// before or after a crash, make one job.
    /// </summary>
    public static string FireKey(string schedule, DateTimeOffset fireTime) =>
        $"schedule:{schedule}:{fireTime.UtcDateTime:yyyy-MM-ddTHH:mm:ss.ffffffZ}";

    /// <summary>The job a fire (or a trigger, with no fire time) creates.</summary>
    public static NewJob JobOf(Schedule schedule, DateTimeOffset? fireTime)
    {
        var labels = new Dictionary<string, string>(schedule.Job.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["schedule"] = schedule.Name,
        };
        return new NewJob
        {
            Type = schedule.Job.Type,
            Queue = schedule.Job.Queue,
            Input = schedule.Job.Input,
            Labels = labels,
            Priority = schedule.Job.Priority,
            MaxAttempts = schedule.Job.MaxAttempts,
            RunAt = fireTime,
            UniqueKey = fireTime is { } at ? FireKey(schedule.Name, at) : null,
            // Whatever became of it: a fire time's job is made once, ever.
            UniqueStatuses = fireTime is null ? null : JobStatusNames.All,
        };
    }

    private static Schedule Changed(Schedule current, Schedule next, DateTimeOffset now) =>
        next == current ? current : next with { UpdatedAt = now, Version = current.Version + 1 };

    private static Schedule Validated(Schedule schedule, DateTimeOffset now, bool timingChanged)
    {
        var timing = Timing(schedule);
        if (!ScheduleMisfire.All.Contains(schedule.Misfire))
        {
            throw new JobValidationException("misfire", $"must be one of {string.Join(", ", ScheduleMisfire.All)}; got '{schedule.Misfire}'");
        }

        if (!ScheduleOverlap.All.Contains(schedule.Overlap))
        {
            throw new JobValidationException("overlap", $"must be one of {string.Join(", ", ScheduleOverlap.All)}; got '{schedule.Overlap}'");
        }

        if (schedule.CatchUpLimit is { } limit && (limit < 1 || limit > MaxCatchUpLimit || schedule.Misfire != ScheduleMisfire.CatchUp))
        {
            throw new JobValidationException("catch_up_limit", schedule.Misfire != ScheduleMisfire.CatchUp
                ? "applies to misfire catch_up only; leave it out"
                : $"must be between 1 and {MaxCatchUpLimit}");
        }

        try
        {
            JobValidator.ValidateNew(JobOf(schedule, null));
        }
        catch (JobValidationException invalid)
        {
            throw new JobValidationException("job." + invalid.Field, invalid.Problem);
        }

        return timingChanged ? schedule with { NextFireAt = timing.NextAfter(now) } : schedule;
    }

    private static bool SameJob(ScheduleJob a, ScheduleJob b) =>
        a.Type == b.Type && a.Queue == b.Queue && a.Priority == b.Priority && a.MaxAttempts == b.MaxAttempts
        && JsonText(a.Input) == JsonText(b.Input)
        && (a.Labels ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal)
            .SequenceEqual((b.Labels ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal));

    private static string? JsonText(System.Text.Json.JsonElement? value) => value?.GetRawText();
}
