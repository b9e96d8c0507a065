using System.Text.Json;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

/// <summary>
/// What every store must do. A store's test project derives from this and says how to open the store
/// (fresh, and again on the same data to show durability); every test here then runs against it.
/// </summary>
public abstract partial class JobStoreContract : IAsyncLifetime
{
    protected RecordingObserver Observer { get; } = new();

    protected IJobStore Store { get; private set; } = null!;

    /// <summary>Opens (and initialises) the store under test on fresh, empty data.</summary>
    protected abstract Task<IJobStore> OpenFreshAsync(IJobStoreObserver observer);

    /// <summary>Opens the same data again after the current store was disposed.</summary>
    protected abstract Task<IJobStore> ReopenAsync(IJobStoreObserver observer);

    /// <summary>
    /// Another instance on the same data, open beside <see cref="Store"/> (the caller disposes it), for stores that many
    /// processes share; null for a store one process owns.
    /// </summary>
    protected virtual Task<IJobStore?> OpenSiblingAsync() => Task.FromResult<IJobStore?>(null);

    public async Task InitializeAsync() => Store = await OpenFreshAsync(Observer);

    public virtual async Task DisposeAsync() => await Store.DisposeAsync();

    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Every_field_round_trips()
    {
        var job = New("full-1") with
        {
            Priority = -7,
            Input = ParseJson("""{"file":"a.mp3","opts":[1,2.5,null,true],"nested":{"ü":"✓"}}"""),
            Labels = new Dictionary<string, string> { ["episode_id"] = "42", ["user"] = "ann" },
            Progress = new JobProgress { Fraction = 0.25, Stage = "decode", Message = "reading", Current = 5, Total = 20 },
            Result = ParseJson("[1,\"two\"]"),
            Error = new JobError { Message = "boom", Code = "E42", Details = ParseJson("{\"line\":3}") },
            Attempt = 2,
            MaxAttempts = 5,
            Status = JobStatus.Running,
            StartedAt = T0.AddSeconds(1),
            RunAt = T0.AddMinutes(10),
            LeaseOwner = "worker-a",
            LeaseExpiresAt = T0.AddSeconds(31),
            LeaseToken = "token-1",
            CancelRequestedAt = T0.AddSeconds(3),
            UpdatedAt = T0.AddSeconds(2),
            Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        };
        Assert.True(await Store.InsertAsync(job, Created(job), None));

        var read = await Store.GetAsync("full-1", None);
        Assert.NotNull(read);
        AssertSameJob(job, read);
    }

    [Fact]
    public async Task A_missing_job_reads_as_null() => Assert.Null(await Store.GetAsync("nope", None));

    [Fact]
    public async Task A_duplicate_id_is_refused_and_the_first_job_is_kept()
    {
        var first = New("dup") with { Priority = 1 };
        Assert.True(await Store.InsertAsync(first, Created(first), None));
        var second = New("dup", type: "other") with { Priority = 2 };
        Assert.False(await Store.InsertAsync(second, Created(second), None));

        var read = await Store.GetAsync("dup", None);
        Assert.Equal("audio.analyze", read!.Type);
        Assert.Single(await Store.GetEventsAsync("dup", 0, 100, None));
    }

    [Fact]
    public async Task Replace_is_compare_and_set_on_the_version()
    {
        var job = New("cas");
        await Store.InsertAsync(job, Created(job), None);
        var v2 = job with { Status = JobStatus.Running, Version = 2, UpdatedAt = T0.AddSeconds(1) };
        Assert.True(await Store.ReplaceAsync(new JobReplacement(v2, 1, [Updated(v2)], false), None));

        var stale = job with { Status = JobStatus.Cancelled, Version = 2 };
        Assert.False(await Store.ReplaceAsync(new JobReplacement(stale, 1, [Updated(stale)], false), None));
        Assert.False(await Store.ReplaceAsync(new JobReplacement(New("ghost") with { Version = 2 }, 1, [], false), None));

        var read = await Store.GetAsync("cas", None);
        Assert.Equal(JobStatus.Running, read!.Status);
        Assert.Equal(2, read.Version);
        Assert.Equal(2, (await Store.GetEventsAsync("cas", 0, 100, None)).Count);
    }

    [Fact]
    public async Task Concurrent_replaces_of_one_version_let_exactly_one_win()
    {
        var job = New("race");
        await Store.InsertAsync(job, Created(job), None);
        var attempts = Enumerable.Range(0, 24).Select(i =>
        {
            var next = job with { Priority = i, Version = 2 };
            return Store.ReplaceAsync(new JobReplacement(next, 1, [Updated(next)], false), None);
        });
        var results = await Task.WhenAll(attempts);
        Assert.Equal(1, results.Count(r => r));
        Assert.Equal(2, (await Store.GetAsync("race", None))!.Version);
    }

    [Fact]
    public async Task Changed_labels_replace_the_old_ones_in_filters()
    {
        var job = New("lab", labels: new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });
        await Store.InsertAsync(job, Created(job), None);
        var next = job with { Labels = new Dictionary<string, string> { ["a"] = "9" }, Version = 2 };
        Assert.True(await Store.ReplaceAsync(new JobReplacement(next, 1, [Updated(next)], true), None));

        Assert.Empty((await Store.ListAsync(new JobQuery { Labels = [new("a", "1")] }, None)).Items);
        Assert.Empty((await Store.ListAsync(new JobQuery { Labels = [new("b", "2")] }, None)).Items);
        Assert.Equal("lab", Assert.Single((await Store.ListAsync(new JobQuery { Labels = [new("a", "9")] }, None)).Items).Id);
    }

    [Fact]
    public async Task Delete_removes_the_job_its_labels_and_its_events()
    {
        var job = New("del", labels: new Dictionary<string, string> { ["k"] = "v" });
        await Store.InsertAsync(job, Created(job), None);
        Assert.True(await Store.DeleteAsync("del", None));
        Assert.False(await Store.DeleteAsync("del", None));
        Assert.Null(await Store.GetAsync("del", None));
        Assert.Empty(await Store.GetEventsAsync("del", 0, 100, None));
        Assert.Empty((await Store.ListAsync(new JobQuery { Labels = [new("k", "v")] }, None)).Items);

        // The id is free again.
        Assert.True(await Store.InsertAsync(job, Created(job), None));
    }

    [Fact]
    public async Task Listing_is_newest_first_and_filters_combine()
    {
        await Seed(
            New("a", T0.AddSeconds(1), "render", JobStatus.Queued, new Dictionary<string, string> { ["ep"] = "1" }),
            New("b", T0.AddSeconds(2), "audio", JobStatus.Running, new Dictionary<string, string> { ["ep"] = "1", ["user"] = "x" }),
            New("c", T0.AddSeconds(3), "audio", JobStatus.Completed, new Dictionary<string, string> { ["ep"] = "2" }),
            New("d", T0.AddSeconds(4), "render", JobStatus.Failed),
            New("e", T0.AddSeconds(5), "audio", JobStatus.Queued, new Dictionary<string, string> { ["ep"] = "1", ["user"] = "y" }));

        await AssertIds(new JobQuery(), "e", "d", "c", "b", "a");
        await AssertIds(new JobQuery { Statuses = [JobStatus.Queued] }, "e", "a");
        await AssertIds(new JobQuery { Statuses = [JobStatus.Queued, JobStatus.Failed, JobStatus.Running] }, "e", "d", "b", "a");
        await AssertIds(new JobQuery { Type = "audio" }, "e", "c", "b");
        await AssertIds(new JobQuery { Type = "audio", Statuses = [JobStatus.Queued, JobStatus.Completed] }, "e", "c");
        await AssertIds(new JobQuery { Labels = [new("ep", "1")] }, "e", "b", "a");
        await AssertIds(new JobQuery { Labels = [new("ep", "1"), new("user", "x")] }, "b");
        await AssertIds(new JobQuery { Labels = [new("ep", "1")], Statuses = [JobStatus.Queued] }, "e", "a");
        await AssertIds(new JobQuery { Labels = [new("ep", "1")], Type = "render" }, "a");
        await AssertIds(new JobQuery { CreatedAfter = T0.AddSeconds(2), CreatedBefore = T0.AddSeconds(4) }, "c", "b");
        await AssertIds(new JobQuery { Labels = [new("ep", "1")], CreatedAfter = T0.AddSeconds(2) }, "e", "b");
        await AssertIds(new JobQuery { Labels = [new("nope", "1")] });
    }

    [Fact]
    public async Task Keyset_paging_visits_every_job_once_even_with_equal_timestamps()
    {
        var jobs = new List<Job>();
        for (var i = 0; i < 57; i++)
        {
            // Groups of three share a timestamp so the id breaks ties.
            jobs.Add(New($"p{i:D3}", T0.AddMilliseconds(i / 3), i % 2 == 0 ? "even" : "odd", i % 4 == 0 ? JobStatus.Completed : JobStatus.Queued));
        }

        await Seed([.. jobs]);
        foreach (var query in new[]
        {
            new JobQuery { Limit = 10 },
            new JobQuery { Limit = 7, Type = "even" },
            new JobQuery { Limit = 5, Statuses = [JobStatus.Completed, JobStatus.Queued] },
            new JobQuery { Limit = 1000 },
        })
        {
            var seen = new List<string>();
            JobCursor? cursor = null;
            var pages = 0;
            do
            {
                var page = await Store.ListAsync(query with { After = cursor }, None);
                Assert.True(page.Items.Count <= query.Limit);
                seen.AddRange(page.Items.Select(j => j.Id));
                cursor = page.Next;
                Assert.True(++pages < 100, "paging did not end");
            }
            while (cursor is not null);

            var expected = jobs
                .Where(j => query.Type is null || j.Type == query.Type)
                .OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id, StringComparer.Ordinal)
                .Select(j => j.Id);
            Assert.Equal(expected, seen);
        }
    }

    [Fact]
    public async Task Events_are_appended_in_order_with_increasing_ids()
    {
        var job = New("ev");
        await Store.InsertAsync(job, Created(job), None);
        var current = job;
        for (var v = 2; v <= 6; v++)
        {
            var next = current with { Version = v, UpdatedAt = T0.AddSeconds(v) };
            Assert.True(await Store.ReplaceAsync(new JobReplacement(next, v - 1, [Updated(next, $"actor-{v}")], false), None));
            current = next;
        }

        var events = await Store.GetEventsAsync("ev", 0, 100, None);
        Assert.Equal([1L, 2, 3, 4, 5, 6], events.Select(e => e.Version));
        Assert.Equal(JobEventTypes.Created, events[0].Type);
        Assert.Equal("actor-4", events[3].Actor);
        Assert.Equal(T0.AddSeconds(4), events[3].At);
        Assert.Equal("status", events[3].Data!.Value.GetProperty("fields")[0].GetString());
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Id < p.Second.Id));

        var after = await Store.GetEventsAsync("ev", events[2].Id, 2, None);
        Assert.Equal([events[3].Id, events[4].Id], after.Select(e => e.Id));
    }

    [Fact]
    public async Task Terminal_batch_deletes_only_finished_jobs_older_than_the_cutoff()
    {
        await Seed(
            New("old-done", T0, status: JobStatus.Completed),
            New("old-failed", T0, status: JobStatus.Failed),
            New("old-cancelled", T0, status: JobStatus.Cancelled),
            New("old-running", T0, status: JobStatus.Running),
            New("old-queued", T0, status: JobStatus.Queued),
            New("new-done", T0.AddDays(10), status: JobStatus.Completed));

        var first = await Store.DeleteTerminalBatchAsync(T0.AddDays(1), 2, None);
        var second = await Store.DeleteTerminalBatchAsync(T0.AddDays(1), 2, None);
        var third = await Store.DeleteTerminalBatchAsync(T0.AddDays(1), 2, None);

        Assert.Equal(2, first.Count);
        Assert.Single(second);
        Assert.Empty(third);
        Assert.Equal(["old-cancelled", "old-done", "old-failed"], first.Concat(second).Order(StringComparer.Ordinal));
        await AssertIds(new JobQuery(), "new-done", "old-running", "old-queued");
        Assert.Empty(await Store.GetEventsAsync("old-done", 0, 10, None));
    }

    [Fact]
    public async Task Stats_count_jobs_by_status()
    {
        await Seed(New("s1"), New("s2"), New("s3", status: JobStatus.Completed), New("s4", status: JobStatus.Waiting));
        var stats = await Store.GetStatsAsync(None);
        Assert.Equal(4, stats.JobsCount);
        Assert.Equal(2, stats.JobsByStatus[JobStatus.Queued]);
        Assert.Equal(1, stats.JobsByStatus[JobStatus.Completed]);
        Assert.Equal(1, stats.JobsByStatus[JobStatus.Waiting]);
        Assert.Equal(0, stats.JobsByStatus[JobStatus.Failed]);
        Assert.True(stats.SchemaVersion >= 1);
        Assert.Equal(Store.Description.Provider, stats.Provider);
    }

    [Fact]
    public async Task Observers_hear_every_committed_change_in_commit_order_and_nothing_else()
    {
        var job = New("obs");
        await Store.InsertAsync(job, Created(job), None);
        await Store.InsertAsync(job, Created(job), None); // duplicate: not committed, not announced
        var v2 = job with { Version = 2 };
        await Store.ReplaceAsync(new JobReplacement(v2, 1, [Updated(v2)], false), None);
        await Store.ReplaceAsync(new JobReplacement(v2 with { Version = 3 }, 1, [], false), None); // lost CAS
        await Store.DeleteAsync("obs", None);

        var changes = Observer.Changes.Where(c => c.JobId == "obs").ToList();
        Assert.Equal(3, changes.Count);
        Assert.Equal(1, changes[0].Job!.Version);
        Assert.Equal(2, changes[1].Job!.Version);
        Assert.Null(changes[2].Job);
        Assert.True(changes[0].Events.Single().Id > 0);
        Assert.True(changes[1].Events.Single().Id > changes[0].Events.Single().Id);
    }

    [Fact]
    public async Task Many_concurrent_writers_are_all_committed()
    {
        var ids = Enumerable.Range(0, 2000).Select(i => $"c{i:D5}").ToArray();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, _) =>
        {
            var job = New(id, labels: new Dictionary<string, string> { ["batch"] = "x" });
            Assert.True(await Store.InsertAsync(job, Created(job), None));
        });

        var page = await Store.ListAsync(new JobQuery { Labels = [new("batch", "x")], Limit = 1000 }, None);
        Assert.Equal(1000, page.Items.Count);
        Assert.Equal(2000, (await Store.GetStatsAsync(None)).JobsCount);
        Assert.Equal(2000, Observer.Changes.Count);
    }

    [Fact]
    public async Task Committed_writes_are_there_after_reopening()
    {
        var job = New("durable") with { Input = ParseJson("{\"n\":1}") };
        await Store.InsertAsync(job, Created(job), None);
        var v2 = job with { Status = JobStatus.Running, Version = 2 };
        await Store.ReplaceAsync(new JobReplacement(v2, 1, [Updated(v2)], false), None);
        await Store.DisposeAsync();

        Store = await ReopenAsync(Observer);
        var read = await Store.GetAsync("durable", None);
        AssertSameJob(v2, read!);
        Assert.Equal(2, (await Store.GetEventsAsync("durable", 0, 10, None)).Count);
    }

    protected async Task Seed(params Job[] jobs)
    {
        foreach (var job in jobs)
        {
            Assert.True(await Store.InsertAsync(job, Created(job), None), $"insert {job.Id}");
        }
    }

    private async Task AssertIds(JobQuery query, params string[] expected)
    {
        var page = await Store.ListAsync(query, None);
        Assert.Equal(expected, page.Items.Select(j => j.Id));
    }

    protected static void AssertSameJob(Job expected, Job actual)
    {
        static string Canonical(Job j) => JsonSerializer.Serialize(j with { Labels = new SortedDictionary<string, string>(j.Labels.ToDictionary()) },
            Jobkeeper.Json.CoreJsonContext.Default.Job);
        Assert.Equal(Canonical(expected), Canonical(actual));
        Assert.Equal(expected.LeaseToken, actual.LeaseToken);
    }
}
