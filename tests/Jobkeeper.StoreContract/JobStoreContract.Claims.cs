using Jobkeeper.Model;
using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

/// <summary>What every store must do for workers: atomic claims in claim order, expired leases, the next due time.</summary>
public abstract partial class JobStoreContract
{
    private static JobReplacement ClaimFor(Job job, string worker) =>
        JobTransitions.Claim(job, worker, Guid.NewGuid().ToString("N"), T0.AddMinutes(5), T0.AddMinutes(1));

    private Task<IReadOnlyList<Job>> Claim(int max, DateTimeOffset now, string worker = "w", params (string Type, int Limit)[] types) =>
        Store.ClaimAsync(new ClaimRequest(types.ToDictionary(t => t.Type, t => t.Limit), max, now), job => ClaimFor(job, worker), CancellationToken.None);

    [Fact]
    public async Task A_claim_takes_due_queued_jobs_by_priority_then_run_at_then_id()
    {
        await Seed(
            New("low-early") with { Priority = 0, RunAt = T0 },
            New("high-late") with { Priority = 5, RunAt = T0.AddSeconds(30) },
            New("high-early-b") with { Priority = 5, RunAt = T0.AddSeconds(10) },
            New("high-early-a") with { Priority = 5, RunAt = T0.AddSeconds(10) },
            New("not-due") with { Priority = 9, RunAt = T0.AddHours(1) },
            New("other-type", type: "video.render") with { Priority = 9 },
            New("running", status: JobStatus.Running) with { Priority = 9 },
            New("done", status: JobStatus.Completed) with { Priority = 9 });

        var claimed = await Claim(3, T0.AddMinutes(1), types: ("audio.analyze", 10));

        Assert.Equal(["high-early-a", "high-early-b", "high-late"], claimed.Select(j => j.Id));
        foreach (var job in claimed)
        {
            var stored = await Store.GetAsync(job.Id, CancellationToken.None);
            Assert.Equal(JobStatus.Running, stored!.Status);
            Assert.Equal("w", stored.LeaseOwner);
            Assert.Equal(job.LeaseToken, stored.LeaseToken);
            Assert.Equal(2, stored.Version);
        }

        Assert.Equal(["low-early"], (await Claim(10, T0.AddMinutes(1), types: ("audio.analyze", 10))).Select(j => j.Id));
        Assert.Empty(await Claim(10, T0.AddMinutes(1), types: ("audio.analyze", 10)));
        Assert.Equal(["not-due"], (await Claim(10, T0.AddHours(2), types: ("audio.analyze", 10))).Select(j => j.Id));
    }

    [Fact]
    public async Task A_claim_keeps_to_each_types_limit_and_the_overall_maximum_and_tells_observers()
    {
        await Seed([.. Enumerable.Range(0, 5).Select(i => New($"a{i}", type: "a")), .. Enumerable.Range(0, 5).Select(i => New($"b{i}", type: "b") with { Priority = 1 })]);

        var claimed = await Claim(4, T0.AddMinutes(1), types: [("a", 3), ("b", 2)]);

        Assert.Equal(["b0", "b1", "a0", "a1"], claimed.Select(j => j.Id));
        var announced = Observer.Changes.Where(c => c.Job?.Status == JobStatus.Running).ToList();
        Assert.Equal(claimed.Select(j => j.Id), announced.Select(c => c.JobId));
        Assert.All(announced, c => Assert.Contains(c.Events, e => e.Type == JobEventTypes.StatusChanged && e.Id > 0));
    }

    [Fact]
    public async Task Concurrent_claims_never_hand_out_a_job_twice()
    {
        await Seed([.. Enumerable.Range(0, 300).Select(i => New($"job-{i:D3}"))]);

        var claims = await Task.WhenAll(Enumerable.Range(0, 12).Select(worker => Task.Run(async () =>
        {
            var mine = new List<string>();
            while (true)
            {
                var batch = await Claim(7, T0.AddMinutes(1), $"w{worker}", ("audio.analyze", 7));
                if (batch.Count == 0)
                {
                    return mine;
                }

                mine.AddRange(batch.Select(j => j.Id));
            }
        })));

        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(300, all.Count);
        Assert.Equal(300, all.Distinct().Count());
    }

    [Fact]
    public async Task Expired_leases_are_found_soonest_first_and_only_for_running_jobs()
    {
        Job Running(string id, int leaseSeconds) => New(id, status: JobStatus.Running) with
        {
            LeaseOwner = "w",
            LeaseToken = id + "-token",
            LeaseExpiresAt = T0.AddSeconds(leaseSeconds),
        };
        await Seed(Running("expired-late", 20), Running("expired-early", 10), Running("alive", 120),
            New("queued-with-old-lease") with { LeaseExpiresAt = T0 });

        var expired = await Store.GetExpiredLeasesAsync(T0.AddSeconds(60), 10, CancellationToken.None);

        Assert.Equal(["expired-early", "expired-late"], expired.Select(j => j.Id));
        Assert.Equal("expired-early-token", expired[0].LeaseToken);
        Assert.Single(await Store.GetExpiredLeasesAsync(T0.AddSeconds(60), 1, CancellationToken.None));
    }

    [Fact]
    public async Task The_next_run_at_is_the_earliest_of_the_queued_jobs_of_those_types()
    {
        Assert.Null(await Store.GetNextRunAtAsync(["a"], [], CancellationToken.None));
        await Seed(
            New("a-later", type: "a") with { RunAt = T0.AddMinutes(10) },
            New("a-sooner", type: "a") with { RunAt = T0.AddMinutes(5), Priority = -1 },
            New("b", type: "b") with { RunAt = T0.AddMinutes(1) },
            New("a-running", type: "a", status: JobStatus.Running) with { RunAt = T0 });

        Assert.Equal(T0.AddMinutes(5), await Store.GetNextRunAtAsync(["a"], [], CancellationToken.None));
        Assert.Equal(T0.AddMinutes(1), await Store.GetNextRunAtAsync(["a", "b"], [], CancellationToken.None));
        Assert.Null(await Store.GetNextRunAtAsync(["c"], [], CancellationToken.None));
    }
}
