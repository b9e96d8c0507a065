using System.Diagnostics;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Xunit.Abstractions;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

public abstract partial class JobManagerContract
{
    private static readonly CancellationToken None = CancellationToken.None;

    protected abstract ITestOutputHelper Output { get; }

    /// <summary>Stores <paramref name="count"/> jobs of <paramref name="type"/> in <paramref name="status"/> straight into the store, in batches.</summary>
    private async Task SeedAsync(string prefix, string type, JobStatus status, int count)
    {
        const int batch = 5_000;
        for (var start = 0; start < count; start += batch)
        {
            var inserts = new List<JobInsert>(batch);
            for (var i = start; i < Math.Min(count, start + batch); i++)
            {
                var job = New($"{prefix}-{i:D6}", T0.AddMilliseconds(i), type, status) with
                {
                    Attempt = 1,
                    Error = status == JobStatus.Failed ? new JobError { Message = "legacy import" } : null,
                };
                inserts.Add(new JobInsert(job, Created(job)));
            }

            await Store.InsertManyAsync(inserts, None);
        }
    }

    /// <summary>Every job the query matches, page by page.</summary>
    private async Task<List<Job>> AllAsync(JobQuery query)
    {
        var jobs = new List<Job>();
        query = query with { Limit = JobQuery.MaxLimit };
        while (true)
        {
            var page = await Store.ListAsync(query, None);
            jobs.AddRange(page.Items);
            if (page.Next is null)
            {
                return jobs;
            }

            query = query with { After = page.Next };
        }
    }

    [Fact]
    public async Task A_bulk_retry_of_100_000_failed_jobs_changes_exactly_those_and_concurrent_writes_do_not_wait_behind_it()
    {
        const int targets = 100_000;
        await SeedAsync("target", "legacy.import", JobStatus.Failed, targets);
        await SeedAsync("other-type", "other.type", JobStatus.Failed, 2_000);
        await SeedAsync("done", "legacy.import", JobStatus.Completed, 2_000);
        var filter = new JobQuery { Statuses = [JobStatus.Failed], Type = "legacy.import" };

        var dry = await Manager.BulkAsync(JobBulkAction.Retry, filter, dryRun: true);
        Assert.Equal(new JobBulkResult(targets, 0), dry);
        Assert.Equal(targets, (await AllAsync(filter)).Count);

        // A writer: creates and updates, one after another, each timed. First alone (after one untimed round, so that what
        // runs once per process, such as preparing statements, is not counted), for the machine's own pace; then beside the
        // bulk action.
        var warm = await Manager.CreateAsync(new NewJob { Type = "bystander", Id = "bystander-warm" });
        await Manager.UpdateAsync(warm.Id, new JobPatch { Labels = new Dictionary<string, string?> { ["seen"] = "yes" } });
        var n = 0;
        async Task WriteAsync(List<double> waits)
        {
            var started = Stopwatch.GetTimestamp();
            var created = await Manager.CreateAsync(new NewJob { Type = "bystander", Id = $"bystander-{n++}" });
            waits.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            started = Stopwatch.GetTimestamp();
            await Manager.UpdateAsync(created.Id, new JobPatch { Labels = new Dictionary<string, string?> { ["seen"] = "yes" } });
            waits.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var alone = new List<double>();
        while (alone.Count < 1000)
        {
            await WriteAsync(alone);
        }

        using var stop = new CancellationTokenSource();
        var waits = new List<double>();
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await WriteAsync(waits);
            }
        });

        var clock = Stopwatch.StartNew();
        var result = await Manager.BulkAsync(JobBulkAction.Retry, filter, actor: new JobActor("bulk-tester"));
        var elapsed = clock.Elapsed;
        await stop.CancelAsync();
        await writer;

        Assert.Equal(new JobBulkResult(targets, targets), result);
        Assert.Empty(await AllAsync(filter));
        var retried = await AllAsync(new JobQuery { Type = "legacy.import", Statuses = [JobStatus.Queued] });
        Assert.Equal(targets, retried.Count);
        Assert.All(retried, j => Assert.Equal(2, j.Attempt));
        Assert.Equal(2_000, (await AllAsync(new JobQuery { Type = "other.type", Statuses = [JobStatus.Failed] })).Count);
        Assert.Equal(2_000, (await AllAsync(new JobQuery { Type = "legacy.import", Statuses = [JobStatus.Completed] })).Count);

        // Each job's history says who retried it and why.
        foreach (var id in new[] { "target-000000", "target-050000", "target-099999" })
        {
            var last = (await Store.GetEventsAsync(id, 0, 100, None))[^1];
            Assert.Equal("bulk-tester", last.Actor);
            Assert.Equal("bulk retry", last.Reason);
        }

        waits.Sort();
        alone.Sort();
        Assert.NotEmpty(waits);
        var p99 = waits[(int)(waits.Count * 0.99)];
        var p99Alone = alone[(int)(alone.Count * 0.99)];
        Output.WriteLine($"bulk retry: {targets} jobs in {elapsed.TotalSeconds:0.0} s; {waits.Count} concurrent writes, median {waits[waits.Count / 2]:0.0} ms, " +
            $"p99 {p99:0.0} ms (alone: median {alone[alone.Count / 2]:0.0} ms, p99 {p99Alone:0.0} ms), " +
            $"slowest {string.Join(", ", waits.TakeLast(5).Reverse().Select(w => w.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))} ms");
        // What a writer waits behind the bulk action is about one of its batches, never the whole action (which one transaction
        // would make seconds). Bounds relative to the writer's own pace measured just before, so a loaded machine slows both
        // alike: the median within 50 ms of it, the 99th percentile within 250 ms (alone on this machine it stays within 50 ms:
        // docs/benchmarks.md). The slowest single write is printed, not asserted: a garbage collection or a checkpoint can
        // stall any one request.
        var median = waits[waits.Count / 2];
        var medianAlone = alone[alone.Count / 2];
        Assert.True(median <= medianAlone + 50, $"the median concurrent write took {median:0.0} ms, {median - medianAlone:0.0} ms above the writer's own");
        Assert.True(p99 <= p99Alone + 250, $"p99 of the concurrent writes was {p99:0.0} ms, {p99 - p99Alone:0.0} ms above the writer's own p99 of {p99Alone:0.0} ms");
    }

    [Fact]
    public async Task An_interrupted_bulk_retry_goes_on_where_it_stopped_when_sent_again_and_no_job_is_retried_twice()
    {
        const int targets = 20_000;
        await SeedAsync("resume", "resume.me", JobStatus.Failed, targets);
        var filter = new JobQuery { Statuses = [JobStatus.Failed], Type = "resume.me" };
        var queued = new JobQuery { Statuses = [JobStatus.Queued], Type = "resume.me", Limit = 1 };

        using var interrupt = new CancellationTokenSource();
        var first = Manager.BulkAsync(JobBulkAction.Retry, filter, cancellationToken: interrupt.Token);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await Store.ListAsync(queued, None)).Items.Count == 0 && !first.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, "the bulk action retried no job within 60 s");
            await Task.Delay(1);
        }

        await interrupt.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        var before = (await AllAsync(filter)).Count;
        Assert.InRange(before, 1, targets - 1);

        var second = await Manager.BulkAsync(JobBulkAction.Retry, filter);
        Output.WriteLine($"interrupted after {targets - before} of {targets}; sent again: {second}");
        Assert.Equal(new JobBulkResult(before, before), second);
        var retried = await AllAsync(queued);
        Assert.Equal(targets, retried.Count);
        Assert.All(retried, j => Assert.Equal(2, j.Attempt));
    }

    [Fact]
    public async Task Bulk_cancel_ends_queued_jobs_and_asks_running_ones_to_stop_skipping_finished_ones_and_bulk_delete_removes_what_matched()
    {
        await SeedAsync("q", "mixed", JobStatus.Queued, 300);
        await SeedAsync("c", "mixed", JobStatus.Completed, 200);
        var running = New("r-1", T0, "mixed", JobStatus.Running) with { LeaseOwner = "w", LeaseToken = "t", LeaseExpiresAt = DateTimeOffset.UtcNow.AddHours(1), StartedAt = T0 };
        await Store.InsertManyAsync([new JobInsert(running, Created(running))], None);

        var cancel = await Manager.BulkAsync(JobBulkAction.Cancel, new JobQuery { Type = "mixed" }, actor: new JobActor("ops"));
        Assert.Equal(new JobBulkResult(501, 301), cancel);
        Assert.Equal(300, (await AllAsync(new JobQuery { Type = "mixed", Statuses = [JobStatus.Cancelled] })).Count);
        Assert.NotNull((await Store.GetAsync("r-1", None))!.CancelRequestedAt);

        // Sent again, it changes nothing: the cancelled stay cancelled, the running one was told already.
        Assert.Equal(new JobBulkResult(501, 0), await Manager.BulkAsync(JobBulkAction.Cancel, new JobQuery { Type = "mixed" }));

        var delete = await Manager.BulkAsync(JobBulkAction.Delete, new JobQuery { Type = "mixed", Statuses = [JobStatus.Completed] });
        Assert.Equal(new JobBulkResult(200, 200), delete);
        Assert.Empty(await AllAsync(new JobQuery { Type = "mixed", Statuses = [JobStatus.Completed] }));
        Assert.Equal(301, (await AllAsync(new JobQuery { Type = "mixed" })).Count);
    }

    [Fact]
    public async Task An_empty_filter_is_refused_unless_all_is_given()
    {
        await SeedAsync("any", "any.type", JobStatus.Failed, 10);
        var refused = await Assert.ThrowsAsync<JobValidationException>(() => Manager.BulkAsync(JobBulkAction.Delete, new JobQuery()));
        Assert.Equal("filter", refused.Field);
        Assert.Equal(10, (await AllAsync(new JobQuery())).Count);

        Assert.Equal(new JobBulkResult(10, 0), await Manager.BulkAsync(JobBulkAction.Delete, new JobQuery(), all: true, dryRun: true));
        Assert.Equal(new JobBulkResult(10, 10), await Manager.BulkAsync(JobBulkAction.Delete, new JobQuery(), all: true));
        Assert.Empty(await AllAsync(new JobQuery()));
    }
}
