using Cronos;
using Jobkeeper.Errors;

namespace Jobkeeper.Schedules;

/// <summary>
/// When a schedule fires: a cron expression (5 fields, or 6 with seconds first) read in an IANA time zone, or a fixed
/// interval. Fire times are instants computed the same way on every instance, so a fire time can name the one job it
/// creates. Across daylight-saving changes (Cronos's rules): a time the clock skips fires once, at the end of the gap; a
/// time the clock passes twice fires once, at its first pass, unless the expression steps through the hour (such as
/// <c>*/15</c> minutes), which fires at each real step. An interval counts from the Unix epoch, so every 3,600 s fires on
/// the hour in UTC, on every instance alike; it takes no time zone.
/// </summary>
internal sealed class ScheduleTiming
{
    /// <summary>The longest interval: a year.</summary>
    public const int MaxIntervalSeconds = 366 * 24 * 3600;

    private static readonly string[] FieldNames = ["second", "minute", "hour", "day of month", "month", "day of week"];

    private readonly CronExpression? _cron;
    private readonly long _intervalTicks;

    private ScheduleTiming(CronExpression? cron, long intervalTicks, TimeZoneInfo zone)
    {
        _cron = cron;
        _intervalTicks = intervalTicks;
        Zone = zone;
    }

    /// <summary>The zone a cron expression is read in (UTC when none was given).</summary>
    public TimeZoneInfo Zone { get; }

    /// <summary>
    /// Reads a schedule's timing, or throws <see cref="JobValidationException"/> naming the field (<c>cron</c>,
    /// <c>interval_seconds</c> or <c>time_zone</c>) and how to fix it; a cron expression's error says which field, at which
    /// position.
    /// </summary>
    public static ScheduleTiming Parse(string? cron, int? intervalSeconds, string? timeZone)
    {
        if (cron is not null && intervalSeconds is not null)
        {
            throw new JobValidationException("interval_seconds", "give either cron or interval_seconds, not both");
        }

        if (intervalSeconds is { } seconds)
        {
            if (timeZone is not null)
            {
                throw new JobValidationException("time_zone", "applies to a cron expression only; an interval counts from the Unix epoch, so leave it out");
            }

            if (seconds is < 1 or > MaxIntervalSeconds)
            {
                throw new JobValidationException("interval_seconds", $"must be between 1 and {MaxIntervalSeconds} (a year); got {seconds}");
            }

            return new ScheduleTiming(null, seconds * TimeSpan.TicksPerSecond, TimeZoneInfo.Utc);
        }

        if (string.IsNullOrWhiteSpace(cron))
        {
            throw new JobValidationException("cron", "give a cron expression such as \"0 3 * * *\" (03:00 every day), or interval_seconds");
        }

        var zone = ZoneOf(timeZone);
        return new ScheduleTiming(ParseCron(cron), 0, zone);
    }

    /// <summary>The first fire time strictly after <paramref name="after"/>, or null when the expression never fires again.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after)
    {
        if (_cron is null)
        {
            var ticks = after.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
            var steps = ticks / _intervalTicks - (ticks % _intervalTicks < 0 ? 1 : 0);
            var next = (steps + 1) * _intervalTicks;
            return next <= DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks ? DateTimeOffset.UnixEpoch.AddTicks(next) : null;
        }

        return _cron.GetNextOccurrence(after.ToUniversalTime(), Zone, inclusive: false);
    }

    /// <summary>The next <paramref name="count"/> fire times after <paramref name="after"/> (fewer when the expression ends).</summary>
    public IReadOnlyList<DateTimeOffset> Next(DateTimeOffset after, int count) => Between(after, DateTimeOffset.MaxValue, count);

    /// <summary>
    /// The fire times in (<paramref name="after"/>, <paramref name="upTo"/>], oldest first, at most <paramref name="limit"/>
    /// of them (the oldest): what a schedule missed while nothing ran it.
    /// </summary>
    public IReadOnlyList<DateTimeOffset> Between(DateTimeOffset after, DateTimeOffset upTo, int limit)
    {
        var times = new List<DateTimeOffset>();
        var from = after;
        while (times.Count < limit && NextAfter(from) is { } next && next <= upTo)
        {
            times.Add(next);
            from = next;
        }

        return times;
    }

    private static TimeZoneInfo ZoneOf(string? timeZone)
    {
        if (timeZone is null or "UTC" or "Etc/UTC")
        {
            return TimeZoneInfo.Utc;
        }

        // The system's IANA database (a Windows name would need ICU to map, and the server runs without it).
        if (TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var zone))
        {
            return zone;
        }

        throw new JobValidationException("time_zone", $"\"{timeZone}\" is not a known IANA time zone; give one such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\"");
    }

    private static CronExpression ParseCron(string cron)
    {
        var fields = cron.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length is not (5 or 6))
        {
            throw new JobValidationException("cron",
                $"has {fields.Length} fields; give 5 (minute hour day-of-month month day-of-week) or 6 with seconds first, such as \"0 3 * * *\"");
        }

        var format = fields.Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
        if (CronExpression.TryParse(cron, format, out var expression))
        {
            return expression;
        }

        // Cronos says only that the expression is invalid: find the field by reading each one alone (the others as '*').
        var names = fields.Length == 6 ? FieldNames : FieldNames[1..];
        for (var i = 0; i < fields.Length; i++)
        {
            var alone = string.Join(' ', fields.Select((f, j) => j == i ? f : "*"));
            if (!CronExpression.TryParse(alone, format, out _))
            {
                throw new JobValidationException("cron",
                    $"field {i + 1} ({names[i]}) \"{fields[i]}\" at position {PositionOf(cron, i)} is not valid; {Allowed(names[i])}");
            }
        }

        throw new JobValidationException("cron", $"\"{cron}\" is not a valid cron expression (each field is valid alone, not together)");
    }

    private static string Allowed(string field) => field switch
    {
        "second" or "minute" => "give 0–59, a list (1,15), a range (0-29), a step (*/5) or *",
        "hour" => "give 0–23, a list, a range, a step or *",
        "day of month" => "give 1–31, L (the last day), a list, a range, a step, * or ?",
        "month" => "give 1–12 or JAN–DEC, a list, a range, a step or *",
        _ => "give 0–6 or SUN–SAT (0 and 7 are Sunday), a list, a range, a step, * or ?",
    };

    /// <summary>The 1-based character position where the <paramref name="index"/>-th field starts.</summary>
    private static int PositionOf(string cron, int index)
    {
        var field = -1;
        for (var i = 0; i < cron.Length; i++)
        {
            if (!char.IsWhiteSpace(cron[i]) && (i == 0 || char.IsWhiteSpace(cron[i - 1])) && ++field == index)
            {
                return i + 1;
            }
        }

        return 1;
    }
}
