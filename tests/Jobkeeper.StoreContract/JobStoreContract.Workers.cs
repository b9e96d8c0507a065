using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

public abstract partial class JobStoreContract
{
    private static WorkerSeen Seen(string worker, string instance, DateTimeOffset at, long completed = 0, string kind = "http") =>
        new(worker, instance, kind, at, at, completed + 1, completed, 0);

    [Fact]
    public async Task Workers_are_stored_per_worker_and_instance_replaced_on_each_record_and_forgotten_when_old()
    {
        await Store.RecordWorkersAsync("i-1", [Seen("w-a", "i-1", T0, completed: 3), Seen("w-b", "i-1", T0.AddMinutes(-10))], T0.AddHours(-1), None);
        await Store.RecordWorkersAsync("i-2", [Seen("w-a", "i-2", T0.AddSeconds(5), completed: 4)], T0.AddHours(-1), None);

        var all = await Store.GetWorkersAsync(T0.AddMinutes(-30), None);
        Assert.Equal([("w-a", "i-1", 3L), ("w-a", "i-2", 4L), ("w-b", "i-1", 0L)], all.Select(w => (w.WorkerId, w.Instance, w.CompletedLast5Minutes)));
        Assert.Equal(T0.AddSeconds(5), all[1].LastSeen);
        Assert.Equal(4L + 1, all[1].ClaimedLast5Minutes);

        // Only those seen since the time asked for.
        Assert.Equal(["w-a", "w-a"], (await Store.GetWorkersAsync(T0.AddMinutes(-1), None)).Select(w => w.WorkerId));

        // A later record replaces the instance's row; rows last seen before the cut-off are dropped.
        await Store.RecordWorkersAsync("i-1", [Seen("w-a", "i-1", T0.AddMinutes(1), completed: 7, kind: "in_process")], T0.AddMinutes(-5), None);
        var after = await Store.GetWorkersAsync(T0.AddHours(-2), None);
        Assert.Equal([("w-a", "i-1", 7L, "in_process"), ("w-a", "i-2", 4L, "http")], after.Select(w => (w.WorkerId, w.Instance, w.CompletedLast5Minutes, w.Kind)));
    }
}
