using Jobkeeper.Model;
using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

/// <summary>The two steps of retention: read a batch of old finished jobs, then delete exactly those still old and finished.</summary>
public abstract partial class JobStoreContract
{
    [Fact]
    public async Task Terminal_batch_reads_old_finished_jobs_of_one_status_oldest_first_without_deleting()
    {
        await Seed(
            New("done-2", T0.AddHours(2), status: JobStatus.Completed),
            New("done-1", T0.AddHours(1), status: JobStatus.Completed),
            New("failed-1", T0, status: JobStatus.Failed),
            New("cancelled-1", T0, status: JobStatus.Cancelled),
            New("running-1", T0, status: JobStatus.Running),
            New("done-new", T0.AddDays(10), status: JobStatus.Completed));

        var cutoff = T0.AddDays(1);
        var completed = await Store.GetTerminalBatchAsync(cutoff, JobStatus.Completed, 10, None);
        Assert.Equal(["done-1", "done-2"], completed.Select(j => j.Id));
        Assert.Equal(["failed-1"], (await Store.GetTerminalBatchAsync(cutoff, JobStatus.Failed, 10, None)).Select(j => j.Id));
        Assert.Equal(["done-1"], (await Store.GetTerminalBatchAsync(cutoff, JobStatus.Completed, 1, None)).Select(j => j.Id));
        var all = await Store.GetTerminalBatchAsync(cutoff, null, 10, None);
        Assert.Equal(["cancelled-1", "done-1", "done-2", "failed-1"], all.Select(j => j.Id).Order(StringComparer.Ordinal));
        Assert.Empty(await Store.GetTerminalBatchAsync(cutoff, JobStatus.Running, 10, None));
        await AssertIds(new JobQuery(), "done-new", "done-2", "done-1", "running-1", "failed-1", "cancelled-1");
    }

    [Fact]
    public async Task Terminal_delete_by_ids_skips_jobs_no_longer_old_and_finished()
    {
        await Seed(
            New("gone-1", T0, status: JobStatus.Completed),
            New("gone-2", T0, status: JobStatus.Failed),
            New("retried", T0, status: JobStatus.Queued),
            New("young", T0.AddDays(5), status: JobStatus.Completed),
            New("untouched", T0, status: JobStatus.Completed));

        var deleted = await Store.DeleteTerminalAsync(["gone-1", "gone-2", "retried", "young", "missing"], T0.AddDays(1), None);

        Assert.Equal(["gone-1", "gone-2"], deleted.Order(StringComparer.Ordinal));
        Assert.Empty(await Store.GetEventsAsync("gone-1", 0, 10, None));
        Assert.NotEmpty(await Store.GetEventsAsync("untouched", 0, 10, None));
        Assert.Null(await Store.GetAsync("gone-2", None));
        await AssertIds(new JobQuery(), "young", "untouched", "retried");
    }
}
