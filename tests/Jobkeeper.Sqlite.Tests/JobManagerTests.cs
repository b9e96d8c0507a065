using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>JobManager over a real SQLite file: cache behaviour, no lost updates, cleanup, shutdown drain.</summary>
public sealed class JobManagerTests : IDisposable
{
    private readonly TempDatabase _database = new();

    [Fact]
    public async Task A_created_job_is_read_from_memory_and_a_cold_read_warms_the_cache()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path);
        var manager = host.Manager;
        var job = await manager.CreateAsync(new NewJob { Type = "audio.analyze", Labels = new Dictionary<string, string> { ["episode_id"] = "42" } });

        Assert.Equal(36, job.Id.Length);
        Assert.Equal(7, Guid.Parse(job.Id).Version);
        var hits = host.Cache.Hits;
        Assert.Same(job, await manager.GetAsync(job.Id));
        Assert.Equal(hits + 1, host.Cache.Hits);

        host.Cache.Clear();
        var misses = host.Cache.Misses;
        var cold = await manager.GetAsync(job.Id);
        Assert.NotNull(cold);
        Assert.Equal(job, cold with { Labels = job.Labels });
        Assert.Equal("42", cold!.Labels["episode_id"]);
        Assert.Equal(misses + 1, host.Cache.Misses);
        Assert.Same(cold, await manager.GetAsync(job.Id));
    }

    [Fact]
    public async Task Concurrent_updates_without_a_version_lose_nothing()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path);
        var manager = host.Manager;
        var job = await manager.CreateAsync(new NewJob { Type = "t", Id = "shared" });

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            manager.UpdateAsync("shared", new JobPatch { Labels = new Dictionary<string, string?> { [$"k{i}"] = $"v{i}" } }))));

        host.Cache.Clear();
        var final = await manager.GetAsync("shared");
        Assert.Equal(40, final!.Labels.Count);
        Assert.Equal(41, final.Version);
        Assert.Equal(41, (await manager.GetEventsAsync("shared")).Count);
    }

    [Fact]
    public async Task An_expected_version_makes_the_update_compare_and_set()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path);
        var manager = host.Manager;
        await manager.CreateAsync(new NewJob { Type = "t", Id = "cas" });
        await manager.UpdateAsync("cas", new JobPatch { Status = JobStatus.Running }, expectedVersion: 1);

        var error = await Assert.ThrowsAsync<VersionMismatchException>(() =>
            manager.UpdateAsync("cas", new JobPatch { Status = JobStatus.Completed }, expectedVersion: 1));
        Assert.Equal(2, error.Actual);
        Assert.Equal(JobStatus.Running, (await manager.GetAsync("cas"))!.Status);
    }

    [Fact]
    public async Task Refused_requests_change_nothing()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path);
        var manager = host.Manager;
        await manager.CreateAsync(new NewJob { Type = "t", Id = "x" });

        await Assert.ThrowsAsync<DuplicateJobException>(() => manager.CreateAsync(new NewJob { Type = "t", Id = "x" }));
        var bad = await Assert.ThrowsAsync<JobValidationException>(() =>
            manager.UpdateAsync("x", new JobPatch { Progress = new ProgressPatch { Fraction = 1.5 } }));
        Assert.Equal("progress.fraction", bad.Field);
        await Assert.ThrowsAsync<JobValidationException>(() => manager.CreateAsync(new NewJob { Type = "t", Id = "has space" }));
        await Assert.ThrowsAsync<JobValidationException>(() => manager.CreateAsync(new NewJob { Type = " " }));
        var reserved = await Assert.ThrowsAsync<JobValidationException>(() => manager.CreateAsync(new NewJob { Type = "t", Id = "cleanup" }));
        Assert.Equal("id", reserved.Field);
        await Assert.ThrowsAsync<JobNotFoundException>(() => manager.UpdateAsync("missing", new JobPatch { Status = JobStatus.Running }));

        host.Cache.Clear();
        var job = await manager.GetAsync("x");
        Assert.Equal(1, job!.Version);
        Assert.Equal(1, (await manager.GetStatsAsync()).JobsCount);
    }

    [Fact]
    public async Task A_deleted_job_is_gone_from_memory_too()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path);
        var manager = host.Manager;
        await manager.CreateAsync(new NewJob { Type = "t", Id = "gone" });
        Assert.NotNull(await manager.GetAsync("gone"));

        await manager.DeleteAsync("gone");
        Assert.Null(await manager.GetAsync("gone"));
        await Assert.ThrowsAsync<JobNotFoundException>(() => manager.DeleteAsync("gone"));
        await Assert.ThrowsAsync<JobNotFoundException>(() => manager.GetEventsAsync("gone"));
    }

    [Fact]
    public async Task Cleanup_deletes_finished_jobs_older_than_the_retention_in_batches()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path, o => o.CleanupBatchSize = 10);
        var manager = host.Manager;
        for (var i = 0; i < 35; i++)
        {
            await Finish(manager, $"old-{i}", i % 3 == 0 ? JobStatus.Failed : JobStatus.Completed);
        }

        await manager.CreateAsync(new NewJob { Type = "t", Id = "old-queued" });
        host.Time.Advance(TimeSpan.FromDays(8));
        await Finish(manager, "recent", JobStatus.Completed);

        var result = await manager.CleanupAsync(7);

        Assert.Equal(35, result.DeletedCount);
        Assert.Equal(7, result.RetentionDays);
        Assert.Null(await manager.GetAsync("old-3"));
        Assert.NotNull(await manager.GetAsync("old-queued"));
        Assert.NotNull(await manager.GetAsync("recent"));
        Assert.Equal(2, (await manager.GetStatsAsync()).JobsCount);
        await Assert.ThrowsAsync<JobValidationException>(() => manager.CleanupAsync(-1));
    }

    [Fact]
    public async Task Stopping_the_host_commits_every_write_it_accepted()
    {
        var host = await ManagerHost.StartAsync(_database.Path);
        var manager = host.Manager;
        var creates = Enumerable.Range(0, 500).Select(i => manager.CreateAsync(new NewJob { Type = "t", Id = $"drain-{i}" })).ToList();
        await host.StopAsync();

        var acknowledged = new List<string>();
        foreach (var create in creates)
        {
            try
            {
                acknowledged.Add((await create).Id);
            }
            catch (StoreUnavailableException)
            {
                // Refused because it arrived after shutdown began: not acknowledged, so not promised.
            }
        }

        await host.DisposeAsync();
        Assert.NotEmpty(acknowledged);

        await using var reopened = await ManagerHost.StartAsync(_database.Path);
        foreach (var id in acknowledged)
        {
            Assert.NotNull(await reopened.Manager.GetAsync(id));
        }
    }

    [Fact]
    public async Task Listing_validates_the_limit()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path);
        var error = await Assert.ThrowsAsync<JobValidationException>(() => host.Manager.ListAsync(new JobQuery { Limit = 0 }));
        Assert.Equal("limit", error.Field);
    }

    private static async Task Finish(JobManager manager, string id, JobStatus status)
    {
        await manager.CreateAsync(new NewJob { Type = "t", Id = id });
        await manager.UpdateAsync(id, new JobPatch { Status = JobStatus.Running });
        await manager.UpdateAsync(id, new JobPatch { Status = status });
    }

    public void Dispose() => _database.Dispose();
}
