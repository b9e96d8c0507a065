using Jobkeeper.Contracts;
using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Jobkeeper.Schedules;
using Jobkeeper.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// Schedules fired by the real runner on a real SQLite store, on a <see cref="TestClock"/>: the clock is moved, the runner's
/// pass fires what is due, and the test polls the store for what it did. Nothing sleeps.
/// </summary>
public sealed class ScheduleTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private Task<ManagerHost> StartAsync(TestClock clock, Action<JobkeeperOptions>? configure = null) =>
        ManagerHost.StartAsync(_database.Path, o =>
        {
            o.Schedules.MisfireGrace = TimeSpan.FromSeconds(5);
            configure?.Invoke(o);
        }, clock);

    private static ScheduleManager Schedules(ManagerHost host) => host.Services.GetRequiredService<ScheduleManager>();

    private static async Task<IReadOnlyList<Job>> JobsOf(ManagerHost host, string schedule) =>
        (await host.Manager.ListAsync(new JobQuery { Labels = [new("schedule", schedule)], Limit = 1000 })).Items.OrderBy(j => j.RunAt).ToList();

    /// <summary>Moves the clock and waits for the runner's pass to have looked at <paramref name="schedule"/> (its next fire moved past now).</summary>
    private static async Task<Schedule> AdvanceAndWaitAsync(ManagerHost host, TestClock clock, TimeSpan by, string schedule)
    {
        clock.Advance(by);
        var now = clock.GetUtcNow();
        return await Poll.UntilAsync(() => Schedules(host).GetAsync(schedule), s => s.NextFireAt > now, $"schedule {schedule} to move past {now:O}",
            s => $"next fire {s.NextFireAt:O}");
    }

    [Fact]
    public async Task A_cron_schedule_with_seconds_fires_once_per_fire_time_and_shows_its_next_runs_last_fire_and_job()
    {
        var clock = new TestClock();
        await using var host = await StartAsync(clock);
        var created = await Schedules(host).CreateAsync(new NewSchedule
        {
            Name = "every-10s",
            Cron = "*/10 * * * * *",
            Job = new ScheduleJob { Type = "report", Input = System.Text.Json.JsonDocument.Parse("""{"kind":"short"}""").RootElement, Labels = new Dictionary<string, string> { ["team"] = "audio" } },
        });
        Assert.Equal([.. Enumerable.Range(1, 5).Select(i => TestClock.Origin.AddSeconds(10 * i))], created.NextRuns);

        Schedule shown = created;
        for (var i = 1; i <= 6; i++)
        {
            shown = await AdvanceAndWaitAsync(host, clock, TimeSpan.FromSeconds(10), "every-10s");
        }

        var jobs = await JobsOf(host, "every-10s");
        Assert.Equal([.. Enumerable.Range(1, 6).Select(i => TestClock.Origin.AddSeconds(10 * i))], jobs.Select(j => j.RunAt));
        Assert.All(jobs, j => Assert.Equal(("report", "audio", "short"), (j.Type, j.Labels["team"], j.Input!.Value.GetProperty("kind").GetString())));
        Assert.Equal([.. jobs.Select(j => $"schedule:every-10s:{j.RunAt.UtcDateTime:yyyy-MM-ddTHH:mm:ss.ffffff}Z")], jobs.Select(j => j.UniqueKey));
        Assert.Equal((TestClock.Origin.AddSeconds(60), jobs[^1].Id), (shown.LastFireAt!.Value, shown.LastJobId));
        Assert.Equal(TestClock.Origin.AddSeconds(70), shown.NextRuns[0]);

        // A fire repeated (a crash after the job, before the schedule moved on) finds the job its key made.
        var again = await host.Manager.CreateAsync(new NewJob
        {
            Type = "report", UniqueKey = jobs[^1].UniqueKey, UniqueStatuses = JobStatusNames.All,
        }, null);
        Assert.Equal((true, jobs[^1].Id), (again.Existing, again.Id));
    }

    [Theory]
    // Berlin springs forward on 29 March 2026 (02:00 → 03:00: 02:30 does not exist) and falls back on 25 October (02:30 happens twice).
    [InlineData("Europe/Berlin", "30 2 * * *", "2026-03-27T12:00:00Z",
        new[] { "2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z" })]
    [InlineData("Europe/Berlin", "30 2 * * *", "2026-10-23T12:00:00Z",
        new[] { "2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z" })]
    // New York springs forward on 8 March 2026 and falls back on 1 November.
    [InlineData("America/New_York", "30 2 * * *", "2026-03-06T12:00:00Z",
        new[] { "2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z" })]
    [InlineData("America/New_York", "30 1 * * *", "2026-10-30T12:00:00Z",
        new[] { "2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z" })]
    public async Task Across_a_daylight_saving_change_the_runner_fires_a_skipped_time_once_and_a_repeated_time_once(string zone, string cron,
        string start, string[] expectedUtc)
    {
        var clock = new TestClock(DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture));
        // The clock jumps by hours: passes an hour apart keep the fake timers from ticking thousands of times per jump.
        await using var host = await StartAsync(clock, o =>
        {
            o.Schedules.PollInterval = TimeSpan.FromHours(1);
            o.Workers.ReapInterval = TimeSpan.FromHours(1);
        });
        var created = await Schedules(host).CreateAsync(new NewSchedule { Name = "daily", Cron = cron, TimeZone = zone, Job = new ScheduleJob { Type = "report" } });
        var expected = expectedUtc.Select(e => DateTimeOffset.Parse(e, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(expected, created.NextRuns.Take(3));

        // Each fire time, then the repeated hour's second pass (an hour later), run by the real runner on the clock.
        foreach (var fire in expected)
        {
            await AdvanceAndWaitAsync(host, clock, fire - clock.GetUtcNow() + TimeSpan.FromSeconds(1), "daily");
            await AdvanceAndWaitAsync(host, clock, TimeSpan.FromHours(1), "daily");
        }

        Assert.Equal(expected, (await JobsOf(host, "daily")).Select(j => j.RunAt));
        Assert.Equal(0, (await Schedules(host).GetAsync("daily")).SkippedFires);
    }

    [Theory]
    [InlineData(ScheduleMisfire.Skip, null, new int[0])]
    [InlineData(ScheduleMisfire.FireOnce, null, new[] { 9 })]
    [InlineData(ScheduleMisfire.CatchUp, 3, new[] { 7, 8, 9 })]
    public async Task Fire_times_missed_while_nothing_ran_are_skipped_fired_once_or_caught_up_and_never_silently(string policy, int? limit, int[] firedMinutes)
    {
        var clock = new TestClock();
        await using var host = await StartAsync(clock);
        await Schedules(host).CreateAsync(new NewSchedule
        {
            Name = "minutely", IntervalSeconds = 60, Misfire = policy, CatchUpLimit = limit, Job = new ScheduleJob { Type = "tick" },
        });

        // Nothing ran the schedule from 09:01 to 09:09 (a jump of the clock is a server that was down): 9 fire times are late.
        var shown = await AdvanceAndWaitAsync(host, clock, TimeSpan.FromSeconds(570), "minutely");

        var jobs = await JobsOf(host, "minutely");
        Assert.Equal([.. firedMinutes.Select(m => TestClock.Origin.AddMinutes(m))], jobs.Select(j => j.RunAt));
        Assert.Equal(9 - firedMinutes.Length, shown.SkippedFires);
        Assert.Equal(TestClock.Origin.AddMinutes(10), shown.NextFireAt);

        // On time again: the next fire time fires as usual.
        await AdvanceAndWaitAsync(host, clock, TimeSpan.FromSeconds(30), "minutely");
        Assert.Equal(TestClock.Origin.AddMinutes(10), (await JobsOf(host, "minutely"))[^1].RunAt);
    }

    [Theory]
    [InlineData(ScheduleOverlap.Allow, 2, JobStatus.Queued)]
    [InlineData(ScheduleOverlap.Skip, 1, JobStatus.Queued)]
    [InlineData(ScheduleOverlap.CancelPrevious, 2, JobStatus.Cancelled)]
    public async Task A_fire_while_the_previous_run_is_unfinished_follows_the_overlap_policy(string overlap, int jobsMade, JobStatus firstAfter)
    {
        var clock = new TestClock();
        await using var host = await StartAsync(clock);
        await Schedules(host).CreateAsync(new NewSchedule { Name = "hourly", IntervalSeconds = 3600, Overlap = overlap, Job = new ScheduleJob { Type = "long" } });

        await AdvanceAndWaitAsync(host, clock, TimeSpan.FromHours(1), "hourly");
        var first = Assert.Single(await JobsOf(host, "hourly"));
        var shown = await AdvanceAndWaitAsync(host, clock, TimeSpan.FromHours(1), "hourly");

        var jobs = await JobsOf(host, "hourly");
        Assert.Equal(jobsMade, jobs.Count);
        Assert.Equal(firstAfter, (await host.Manager.GetAsync(first.Id))!.Status);
        Assert.Equal(overlap == ScheduleOverlap.Skip ? 1 : 0, shown.SkippedFires);
        Assert.Equal(jobs[^1].Id, shown.LastJobId);
    }

    [Fact]
    public async Task A_paused_schedule_does_not_fire_and_resumes_from_now_and_trigger_runs_it_at_once()
    {
        var clock = new TestClock();
        await using var host = await StartAsync(clock);
        var schedules = Schedules(host);
        await schedules.CreateAsync(new NewSchedule { Name = "p", IntervalSeconds = 60, Job = new ScheduleJob { Type = "t" } });
        var paused = await schedules.PauseAsync("p");
        Assert.Empty(paused.NextRuns);

        clock.Advance(TimeSpan.FromMinutes(5));
        var (job, afterTrigger) = await schedules.TriggerAsync("p");
        Assert.Equal((job.Id, "p"), (afterTrigger.LastJobId, job.Labels["schedule"]));
        var resumed = await schedules.ResumeAsync("p");
        Assert.Equal(TestClock.Origin.AddMinutes(6), resumed.NextFireAt);

        await AdvanceAndWaitAsync(host, clock, TimeSpan.FromMinutes(1), "p");
        // The trigger's job and the 09:06 fire: nothing for the five minutes of the pause.
        Assert.Equal([clock.GetUtcNow().AddMinutes(-1), TestClock.Origin.AddMinutes(6)], (await JobsOf(host, "p")).Select(j => j.RunAt));
    }

    [Fact]
    public async Task A_schedule_declared_in_code_is_stored_once_across_restarts_and_its_changed_definition_keeps_its_pause()
    {
        var clock = new TestClock();
        var declared = new NewSchedule { Name = "nightly", Cron = "0 3 * * *", TimeZone = "Europe/Berlin", Job = new ScheduleJob { Type = "report" } };
        await using (var first = await StartAsync(clock, o => o.Schedules.Declared.Add(declared)))
        {
            var stored = await Schedules(first).GetAsync("nightly");
            Assert.Equal(new DateTimeOffset(2026, 5, 2, 1, 0, 0, TimeSpan.Zero), stored.NextFireAt);
            await Schedules(first).PauseAsync("nightly");
        }

        await using (var second = await StartAsync(clock, o => o.Schedules.Declared.Add(declared)))
        {
            var same = await Schedules(second).GetAsync("nightly");
            Assert.Equal((2L, true), (same.Version, same.Paused));
        }

        await using var third = await StartAsync(clock, o => o.Schedules.Declared.Add(declared with { Cron = "0 4 * * *" }));
        var changed = Assert.Single(await Schedules(third).ListAsync());
        Assert.Equal(("0 4 * * *", true, 3L), (changed.Cron, changed.Paused, changed.Version));
    }
}
