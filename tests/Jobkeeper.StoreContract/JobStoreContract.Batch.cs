using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

public abstract partial class JobStoreContract
{
    [Fact]
    public async Task A_batch_insert_stores_its_jobs_in_one_transaction_in_order_and_skips_a_taken_id()
    {
        var taken = New("batch-taken");
        Assert.True(await Store.InsertAsync(taken, Created(taken), CancellationToken.None));
        var commitsBefore = Observer.Commits.Count;

        var jobs = Enumerable.Range(0, 50).Select(i => New($"batch-{i:D2}") with { Labels = new Dictionary<string, string> { ["n"] = $"{i}" } }).ToList();
        jobs.Insert(20, New("batch-taken") with { Type = "other.type" });
        var inserted = await Store.InsertManyAsync([.. jobs.Select(j => new JobInsert(j, Created(j)))], CancellationToken.None);

        Assert.Equal(51, inserted.Count);
        Assert.Equal(InsertResult.IdTaken, inserted[20].Result);
        Assert.Equal(50, inserted.Count(i => i.Result == InsertResult.Created));
        foreach (var job in jobs.Where(j => j.Id != "batch-taken"))
        {
            AssertSameJob(job, await Store.GetAsync(job.Id, CancellationToken.None) ?? throw new InvalidOperationException($"{job.Id} was not stored"));
        }

        // The taken id keeps its first job; the 50 new ones were told to observers as one commit, in the batch's order.
        Assert.Equal("audio.analyze", (await Store.GetAsync("batch-taken", CancellationToken.None))!.Type);
        var commit = Assert.Single(Observer.Commits.Skip(commitsBefore));
        Assert.Equal(jobs.Where(j => j.Id != "batch-taken").Select(j => j.Id), commit.Select(c => c.JobId));
    }
}
