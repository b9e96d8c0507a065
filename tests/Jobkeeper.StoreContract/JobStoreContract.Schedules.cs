using Jobkeeper.Model;
using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

public abstract partial class JobStoreContract
{
    private static Schedule NewSchedule(string name) => new()
    {
        Name = name, Cron = "0 3 * * *", TimeZone = "Europe/Berlin", Job = new ScheduleJob { Type = "report", Labels = new Dictionary<string, string> { ["team"] = "audio" } },
        Misfire = ScheduleMisfire.CatchUp, CatchUpLimit = 4, Overlap = ScheduleOverlap.Skip, NextFireAt = T0.AddHours(1), CreatedAt = T0, UpdatedAt = T0, Version = 1,
    };

    [Fact]
    public async Task A_schedule_is_stored_compare_and_set_and_a_deleted_one_is_not_brought_back_by_a_late_save()
    {
        var first = NewSchedule("nightly");
        Assert.True(await Store.SaveScheduleAsync(null, first, None));
        Assert.False(await Store.SaveScheduleAsync(null, first with { Cron = "0 4 * * *" }, None));

        var stored = Assert.Single(await Store.GetSchedulesAsync(ScheduleQuery.All, None));
        Assert.Equal(("0 3 * * *", "Europe/Berlin", "report", "audio", ScheduleMisfire.CatchUp, 4, ScheduleOverlap.Skip, T0.AddHours(1), 1L),
            (stored.Cron, stored.TimeZone, stored.Job.Type, stored.Job.Labels!["team"], stored.Misfire, stored.CatchUpLimit, stored.Overlap, stored.NextFireAt!.Value, stored.Version));

        var fired = stored with { NextFireAt = T0.AddDays(1), LastFireAt = T0.AddHours(1), LastJobId = "job-1", SkippedFires = 2, Version = 2 };
        Assert.True(await Store.SaveScheduleAsync(stored, fired, None));
        Assert.False(await Store.SaveScheduleAsync(stored, stored with { Paused = true, Version = 2 }, None));
        var read = Assert.Single(await Store.GetSchedulesAsync(ScheduleQuery.All, None));
        Assert.Equal(("job-1", 2L, false, 2L), (read.LastJobId, read.SkippedFires, read.Paused, read.Version));

        Assert.True(await Store.DeleteScheduleAsync("nightly", None));
        Assert.False(await Store.DeleteScheduleAsync("nightly", None));
        // A pass that read the schedule before the delete saves after it: the schedule stays deleted.
        Assert.False(await Store.SaveScheduleAsync(read, read with { Version = 3 }, None));
        Assert.Empty(await Store.GetSchedulesAsync(ScheduleQuery.All, None));
    }
}
