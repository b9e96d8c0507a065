using System.Text.Json;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

public abstract partial class JobStoreContract
{
    private static readonly JobStatus[] UnfinishedStatuses = [JobStatus.Queued, JobStatus.Running, JobStatus.Waiting];

    private static JobInsert UniqueInsert(Job job, string key, IReadOnlyCollection<JobStatus>? statuses = null, DateTimeOffset? since = null) =>
        new(job with { UniqueKey = key }, Created(job)) { Unique = new JobUniqueness(key, statuses ?? UnfinishedStatuses, since) };

    /// <summary>A debounced create as JobManager builds it: the key's queued job takes the input and runs no sooner than <paramref name="runAt"/>.</summary>
    private static JobInsert DebounceInsert(Job job, string key, int n, DateTimeOffset runAt)
    {
        var input = ParseJson($$"""{"n":{{n}}}""");
        var row = job with { UniqueKey = key, Input = input, RunAt = runAt };
        return new JobInsert(row, Created(row))
        {
            Unique = new JobUniqueness(key, [JobStatus.Queued], null)
            {
                Debounce = pending => JobTransitions.Debounce(pending, input, runAt, T0, "test"),
            },
        };
    }

    [Fact]
    public async Task Sixty_four_concurrent_inserts_with_one_unique_key_store_one_job_and_answer_the_others_with_it()
    {
        await using var sibling = await OpenSiblingAsync();
        var stores = sibling is null ? new[] { Store } : [Store, sibling];
        using var start = new ManualResetEventSlim();
        var creates = Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await stores[i % stores.Length].InsertUniqueAsync(UniqueInsert(New($"u-{i:D2}"), "report:2026-12-07"), None);
        })).ToList();
        start.Set();
        var outcomes = await Task.WhenAll(creates);

        var created = Assert.Single(outcomes, o => o.Result == InsertResult.Created);
        Assert.All(outcomes.Where(o => o != created), o =>
        {
            Assert.Equal(InsertResult.Existing, o.Result);
            Assert.Equal(created.Job!.Id, o.Job!.Id);
            Assert.Equal("report:2026-12-07", o.Job.UniqueKey);
        });
        var stored = 0;
        for (var i = 0; i < 64; i++)
        {
            stored += await Store.GetAsync($"u-{i:D2}", None) is null ? 0 : 1;
        }

        Assert.Equal(1, stored);
        Assert.Equal("report:2026-12-07", (await Store.GetAsync(created.Job!.Id, None))!.UniqueKey);
    }

    [Fact]
    public async Task A_unique_key_blocks_only_in_the_statuses_and_the_window_it_is_given()
    {
        Assert.Equal(InsertResult.Created, (await Store.InsertUniqueAsync(UniqueInsert(New("w-1") with { Status = JobStatus.Completed, CompletedAt = T0 }, "k"), None)).Result);

        // A finished job does not block by default, and the new one is stored beside it.
        var second = await Store.InsertUniqueAsync(UniqueInsert(New("w-2", T0.AddSeconds(10)), "k"), None);
        Assert.Equal(InsertResult.Created, second.Result);

        // Statuses that name completed see the completed one; the newest blocking job answers.
        var third = await Store.InsertUniqueAsync(UniqueInsert(New("w-3", T0.AddSeconds(20)), "k", [JobStatus.Completed]), None);
        Assert.Equal(InsertResult.Existing, third.Result);
        Assert.Equal("w-1", third.Job!.Id);
        var fourth = await Store.InsertUniqueAsync(UniqueInsert(New("w-4", T0.AddSeconds(20)), "k", [JobStatus.Completed, JobStatus.Queued]), None);
        Assert.Equal("w-2", fourth.Job!.Id);

        // A window that starts after the queued job was created lets a new one in.
        var fifth = await Store.InsertUniqueAsync(UniqueInsert(New("w-5", T0.AddSeconds(30)), "k", since: T0.AddSeconds(11)), None);
        Assert.Equal(InsertResult.Created, fifth.Result);
        var sixth = await Store.InsertUniqueAsync(UniqueInsert(New("w-6", T0.AddSeconds(31)), "k", since: T0.AddSeconds(30)), None);
        Assert.Equal(("w-5", InsertResult.Existing), (sixth.Job!.Id, sixth.Result));

        // Another key is not blocked by any of them; a taken id still is.
        Assert.Equal(InsertResult.Created, (await Store.InsertUniqueAsync(UniqueInsert(New("w-7"), "other"), None)).Result);
        Assert.Equal(InsertResult.IdTaken, (await Store.InsertUniqueAsync(UniqueInsert(New("w-7"), "third"), None)).Result);
    }

    [Fact]
    public async Task Sixty_four_concurrent_debounces_with_one_key_leave_one_queued_job_with_the_last_input_and_the_latest_run_at()
    {
        await using var sibling = await OpenSiblingAsync();
        var stores = sibling is null ? new[] { Store } : [Store, sibling];
        using var start = new ManualResetEventSlim();
        var creates = Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            start.Wait();
            // A store may answer Retry (its answer depended on a write of the same transaction that did not land): ask again.
            InsertOutcome outcome;
            do
            {
                outcome = await stores[i % stores.Length].InsertUniqueAsync(DebounceInsert(New($"d-{i:D2}"), "render:42", i, T0.AddSeconds(5 + i)), None);
            }
            while (outcome.Result == InsertResult.Retry);

            return outcome;
        })).ToList();
        start.Set();
        var outcomes = await Task.WhenAll(creates);

        var created = Assert.Single(outcomes, o => o.Result == InsertResult.Created);
        Assert.Equal(63, outcomes.Count(o => o.Result == InsertResult.Debounced && o.Job!.Id == created.Job!.Id));
        var stored = await Store.GetAsync(created.Job!.Id, None);
        Assert.Equal(JobStatus.Queued, stored!.Status);
        Assert.Equal(64, stored.Version);
        // The input is the one of the debounce that committed last (the highest version); run_at only ever moves out.
        var last = outcomes.MaxBy(o => o.Job!.Version)!;
        Assert.Equal(last.Job!.Input!.Value.GetRawText(), stored.Input!.Value.GetRawText());
        Assert.Equal(T0.AddSeconds(5 + 63), stored.RunAt);
        var events = await Store.GetEventsAsync(stored.Id, 0, 100, None);
        Assert.Equal([JobEventTypes.Created, .. Enumerable.Repeat(JobEventTypes.Debounced, 63)], events.Select(e => e.Type));
        Assert.Equal(Enumerable.Range(1, 64).Select(v => (long)v), events.Select(e => e.Version));
    }

    [Fact]
    public async Task A_debounce_creates_a_new_job_once_the_key_s_job_left_queued()
    {
        var first = await Store.InsertUniqueAsync(DebounceInsert(New("r-1"), "render:7", 1, T0.AddSeconds(5)), None);
        var running = first.Job! with { Status = JobStatus.Running, StartedAt = T0.AddSeconds(6), LeaseOwner = "w", LeaseToken = "t", LeaseExpiresAt = T0.AddSeconds(60), Version = 2 };
        Assert.True(await Store.ReplaceAsync(new JobReplacement(running, 1, [Updated(running)], false), None));

        var second = await Store.InsertUniqueAsync(DebounceInsert(New("r-2", T0.AddSeconds(7)), "render:7", 2, T0.AddSeconds(12)), None);
        Assert.Equal((InsertResult.Created, "r-2"), (second.Result, second.Job!.Id));
        var third = await Store.InsertUniqueAsync(DebounceInsert(New("r-3", T0.AddSeconds(8)), "render:7", 3, T0.AddSeconds(13)), None);
        Assert.Equal((InsertResult.Debounced, "r-2"), (third.Result, third.Job!.Id));
        Assert.Equal(JobStatus.Running, (await Store.GetAsync("r-1", None))!.Status);
        Assert.Equal("""{"n":3}""", (await Store.GetAsync("r-2", None))!.Input!.Value.GetRawText());
    }

    [Fact]
    public async Task A_batch_sees_its_own_earlier_jobs_with_a_key()
    {
        var outcomes = await Store.InsertManyAsync(
        [
            UniqueInsert(New("b-1"), "a"),
            UniqueInsert(New("b-2"), "a"),
            new JobInsert(New("b-3"), Created(New("b-3"))),
            DebounceInsert(New("b-4"), "d", 1, T0.AddSeconds(5)),
            DebounceInsert(New("b-5"), "d", 2, T0.AddSeconds(6)),
            DebounceInsert(New("b-6"), "d", 3, T0.AddSeconds(7)),
            UniqueInsert(New("b-7"), "d", [JobStatus.Queued]),
        ], None);

        Assert.Equal(
            [(InsertResult.Created, "b-1"), (InsertResult.Existing, "b-1"), (InsertResult.Created, "b-3"), (InsertResult.Created, "b-4"),
             (InsertResult.Debounced, "b-4"), (InsertResult.Debounced, "b-4"), (InsertResult.Existing, "b-4")],
            outcomes.Select(o => (o.Result, o.Job!.Id)));
        Assert.Null(await Store.GetAsync("b-2", None));
        var debounced = await Store.GetAsync("b-4", None);
        Assert.Equal(("""{"n":3}""", T0.AddSeconds(7), 3L), (debounced!.Input!.Value.GetRawText(), debounced.RunAt, debounced.Version));
        Assert.Equal([JobEventTypes.Created, JobEventTypes.Debounced, JobEventTypes.Debounced],
            (await Store.GetEventsAsync("b-4", 0, 10, None)).Select(e => e.Type));
        Assert.Equal(("""{"n":3}""", 3L), (outcomes[6].Job!.Input!.Value.GetRawText(), outcomes[6].Job!.Version));
    }
}
