using Jobkeeper.Model;
using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

/// <summary>Named queues in every store: a job keeps its queue, lists filter by it, claims take by queue, by type, or both.</summary>
public abstract partial class JobStoreContract
{
    private static Job InQueue(string id, string queue, string type = "audio.analyze", int priority = 0, DateTimeOffset? runAt = null,
        JobStatus status = JobStatus.Queued, DateTimeOffset? createdAt = null) =>
        New(id, createdAt, type, status) with { Queue = queue, Priority = priority, RunAt = runAt ?? T0 };

    private Task<IReadOnlyList<Job>> ClaimIn(int max, IReadOnlyList<string> queues, params (string Type, int Limit)[] types) =>
        Store.ClaimAsync(new ClaimRequest(types.ToDictionary(t => t.Type, t => t.Limit), max, T0.AddMinutes(1)) { Queues = queues },
            job => ClaimFor(job, "w"), CancellationToken.None);

    [Fact]
    public async Task A_job_keeps_its_queue_and_listings_filter_by_it()
    {
        await Seed(
            InQueue("r-old", "renders", createdAt: T0),
            New("d", T0.AddSeconds(1)),
            InQueue("r-new", "renders", createdAt: T0.AddSeconds(2)),
            InQueue("r-done", "renders", status: JobStatus.Completed, createdAt: T0.AddSeconds(3)));

        Assert.Equal("renders", (await Store.GetAsync("r-old", CancellationToken.None))!.Queue);
        Assert.Equal(JobQueues.Default, (await Store.GetAsync("d", CancellationToken.None))!.Queue);
        await AssertIds(new JobQuery { Queue = "renders" }, "r-done", "r-new", "r-old");
        await AssertIds(new JobQuery { Queue = "renders", Statuses = [JobStatus.Queued] }, "r-new", "r-old");
        await AssertIds(new JobQuery { Queue = JobQueues.Default }, "d");
        await AssertIds(new JobQuery { Queue = "nowhere" });
    }

    [Fact]
    public async Task A_claim_by_queue_takes_every_type_in_it_in_claim_order()
    {
        await Seed(
            InQueue("r-a", "renders", type: "a", priority: 0),
            InQueue("r-b", "renders", type: "b", priority: 5),
            InQueue("d-a", JobQueues.Default, type: "a", priority: 9),
            InQueue("r-later", "renders", type: "a", priority: 9, runAt: T0.AddHours(1)));

        var claimed = await ClaimIn(10, ["renders"]);

        Assert.Equal(["r-b", "r-a"], claimed.Select(j => j.Id));
        Assert.All(claimed, j => Assert.Equal(JobStatus.Running, j.Status));
        Assert.Equal(JobStatus.Queued, (await Store.GetAsync("d-a", CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task A_claim_by_type_and_queues_takes_that_type_in_those_queues_within_its_limit_over_all_of_them()
    {
        await Seed(
            InQueue("a-uploads", "uploads", type: "a", priority: 3),
            InQueue("a-renders-1", "renders", type: "a", priority: 2),
            InQueue("a-renders-2", "renders", type: "a", priority: 1),
            InQueue("a-default", JobQueues.Default, type: "a", priority: 9),
            InQueue("b-renders", "renders", type: "b", priority: 9));

        var claimed = await ClaimIn(10, ["renders", "uploads"], ("a", 2));

        Assert.Equal(["a-uploads", "a-renders-1"], claimed.Select(j => j.Id));
        var rest = await ClaimIn(10, ["renders", "uploads"], ("a", 5), ("b", 5));
        Assert.Equal(["b-renders", "a-renders-2"], rest.Select(j => j.Id));
    }

    [Fact]
    public async Task The_next_run_at_follows_the_claim_s_queues_and_types()
    {
        await Seed(
            InQueue("r-a", "renders", type: "a", runAt: T0.AddMinutes(5)),
            InQueue("r-b", "renders", type: "b", runAt: T0.AddMinutes(3)),
            InQueue("d-a", JobQueues.Default, type: "a", runAt: T0.AddMinutes(1)));

        Assert.Equal(T0.AddMinutes(3), await Store.GetNextRunAtAsync([], ["renders"], CancellationToken.None));
        Assert.Equal(T0.AddMinutes(5), await Store.GetNextRunAtAsync(["a"], ["renders"], CancellationToken.None));
        Assert.Equal(T0.AddMinutes(1), await Store.GetNextRunAtAsync(["a"], [], CancellationToken.None));
        Assert.Null(await Store.GetNextRunAtAsync([], ["uploads"], CancellationToken.None));
    }
}
