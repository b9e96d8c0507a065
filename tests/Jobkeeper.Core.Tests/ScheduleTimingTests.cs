using Jobkeeper.Errors;
using Jobkeeper.Schedules;
using Microsoft.Extensions.Time.Testing;

namespace Jobkeeper.Core.Tests;

/// <summary>
/// Fire times of cron expressions in IANA zones across daylight-saving changes (New York and Berlin, spring and autumn
/// 2026), of intervals, and the problems bad timing is refused with. "Now" comes from a fake clock.
/// </summary>
public sealed class ScheduleTimingTests
{
    [Theory]
    // New York springs from 02:00 to 03:00 EDT on 8 March 2026: 02:30 does not exist that day.
    [InlineData("America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z")]
    // Berlin springs from 02:00 to 03:00 CEST on 29 March 2026.
    [InlineData("Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z")]
    public void A_time_the_clock_skips_fires_once_at_the_end_of_the_gap(string zone, string now, string skippedDay, string nextDay)
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse(now));
        var timing = ScheduleTiming.Parse("30 2 * * *", null, zone);

        var fires = timing.Next(time.GetUtcNow(), 2);

        Assert.Equal([DateTimeOffset.Parse(skippedDay), DateTimeOffset.Parse(nextDay)], fires);
    }

    [Theory]
    // New York falls back from 02:00 EDT to 01:00 EST on 1 November 2026: 01:30 happens twice, the job fires once (EDT).
    [InlineData("America/New_York", "30 1 * * *", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z")]
    // Berlin falls back from 03:00 CEST to 02:00 CET on 25 October 2026: 02:30 happens twice.
    [InlineData("Europe/Berlin", "30 2 * * *", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z")]
    public void A_time_the_clock_passes_twice_fires_once(string zone, string cron, string now, string repeatedDay, string nextDay)
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse(now));
        var timing = ScheduleTiming.Parse(cron, null, zone);

        var fires = timing.Between(time.GetUtcNow(), time.GetUtcNow().AddDays(2), limit: 10);

        Assert.Equal([DateTimeOffset.Parse(repeatedDay), DateTimeOffset.Parse(nextDay)], fires);
    }

    [Fact]
    public void An_expression_that_steps_through_the_repeated_hour_fires_at_each_real_step()
    {
        // Every 30 minutes across New York's fall-back: 01:00, 01:30 EDT, then 01:00, 01:30 EST, then 02:00 EST, each 30 real
        // minutes apart.
        var timing = ScheduleTiming.Parse("*/30 * * * *", null, "America/New_York");

        var fires = timing.Between(DateTimeOffset.Parse("2026-11-01T04:59:00Z"), DateTimeOffset.Parse("2026-11-01T07:00:00Z"), limit: 10);

        Assert.Equal(["05:00", "05:30", "06:00", "06:30", "07:00"], fires.Select(f => f.UtcDateTime.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Six_fields_read_the_first_as_seconds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T10:00:00Z"));
        var timing = ScheduleTiming.Parse("*/20 * * * * *", null, "UTC");

        Assert.Equal(
            [DateTimeOffset.Parse("2026-12-07T10:00:20Z"), DateTimeOffset.Parse("2026-12-07T10:00:40Z"), DateTimeOffset.Parse("2026-12-07T10:01:00Z")],
            timing.Next(time.GetUtcNow(), 3));
    }

    [Fact]
    public void An_interval_counts_from_the_epoch_so_every_instance_computes_the_same_fire_times()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T10:17:05Z"));
        var hourly = ScheduleTiming.Parse(null, 3600, null);
        var sevenSeconds = ScheduleTiming.Parse(null, 7, null);

        Assert.Equal(DateTimeOffset.Parse("2026-12-07T11:00:00Z"), hourly.NextAfter(time.GetUtcNow()));
        var next = sevenSeconds.NextAfter(time.GetUtcNow())!.Value;
        Assert.Equal(0, (next - DateTimeOffset.UnixEpoch).Ticks % TimeSpan.FromSeconds(7).Ticks);
        Assert.InRange(next - time.GetUtcNow(), TimeSpan.FromTicks(1), TimeSpan.FromSeconds(7));

        // A fire time is never its own successor: from a fire time, the next one is a whole interval later.
        time.Advance(next - time.GetUtcNow());
        Assert.Equal(next.AddSeconds(7), sevenSeconds.NextAfter(time.GetUtcNow()));
    }

    [Fact]
    public void A_zone_the_database_knows_by_a_short_name_is_taken_and_no_fire_time_lies_past_the_calendar()
    {
        Assert.Equal(TimeSpan.FromHours(1), ScheduleTiming.Parse("0 3 * * *", null, "CET").Zone.GetUtcOffset(DateTimeOffset.Parse("2026-01-15T00:00:00Z")));
        Assert.Null(ScheduleTiming.Parse(null, 60, null).NextAfter(DateTimeOffset.MaxValue.AddSeconds(-30)));
    }

    [Fact]
    public void Missed_fire_times_come_oldest_first_up_to_the_limit()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T10:00:00Z"));
        var timing = ScheduleTiming.Parse("*/10 * * * *", null, "UTC");
        var lastFire = time.GetUtcNow();

        time.Advance(TimeSpan.FromMinutes(35));
        var missed = timing.Between(lastFire, time.GetUtcNow(), limit: 2);

        Assert.Equal([DateTimeOffset.Parse("2026-12-07T10:10:00Z"), DateTimeOffset.Parse("2026-12-07T10:20:00Z")], missed);
        Assert.Equal(3, timing.Between(lastFire, time.GetUtcNow(), limit: 10).Count);
    }

    [Theory]
    [InlineData("0 3 32 * *", null, null, "cron", "field 3 (day of month) \"32\" at position 5")]
    [InlineData("0  3 * 13 *", null, null, "cron", "field 4 (month) \"13\" at position 8")]
    [InlineData("61 * * * * *", null, null, "cron", "field 1 (second) \"61\" at position 1")]
    [InlineData("0 3 * *", null, null, "cron", "has 4 fields")]
    [InlineData(null, null, null, "cron", "give a cron expression")]
    [InlineData("0 3 * * *", 60, null, "interval_seconds", "not both")]
    [InlineData(null, 0, null, "interval_seconds", "between 1 and")]
    [InlineData("0 3 * * *", null, "Mars/Olympus_Mons", "time_zone", "not a known IANA time zone")]
    [InlineData("0 3 * * *", null, "Eastern Standard Time", "time_zone", "not a known IANA time zone")]
    [InlineData(null, 60, "Europe/Berlin", "time_zone", "applies to a cron expression only")]
    [InlineData("0\t3 32 * *", null, null, "cron", "field 3 (day of month) \"32\" at position 5")]
    public void Bad_timing_is_refused_naming_the_field_and_how_to_fix_it(string? cron, int? interval, string? zone, string field, string problem)
    {
        var refused = Assert.Throws<JobValidationException>(() => ScheduleTiming.Parse(cron, interval, zone));

        Assert.Equal(field, refused.Field);
        Assert.Contains(problem, refused.Problem, StringComparison.Ordinal);
    }
}
