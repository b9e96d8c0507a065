using System.Collections.Concurrent;
using Jobkeeper.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Jobkeeper.Model;
using Jobkeeper.Sqlite.Tests;
using Npgsql;

namespace Jobkeeper.Postgres.Tests;

/// <summary>
/// Two or more instances in this process on one real PostgreSQL database, each with its own cache, hub, signals
/// and workers: what one commits, the others see, stream and act on.
/// </summary>
public sealed class SharedInstancesTests : IAsyncLifetime
{
    private readonly List<Instance> _instances = [];
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private async Task<Instance> StartAsync(string workerId, Action<JobkeeperBuilder>? handlers = null, Action<Workers.JobWorkerOptions>? workers = null)
    {
        var instance = await Instance.StartAsync(_database.ConnectionString, workerId, handlers, workers);
        _instances.Add(instance);
        return instance;
    }

    [Fact]
    public async Task A_read_on_one_instance_right_after_a_write_on_another_returns_the_new_version_every_time()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        var job = await a.Manager.CreateAsync(new NewJob { Type = "t" });
        Assert.NotNull(await b.Manager.GetAsync(job.Id)); // b now holds it in memory

        for (var i = 1; i <= 300; i++)
        {
            var (writer, reader) = i % 2 == 0 ? (a, b) : (b, a);
            var written = await writer.Manager.UpdateAsync(job.Id, new JobPatch { Progress = new ProgressPatch { Current = i } });
            var read = await reader.Manager.GetAsync(job.Id);
            Assert.Equal(written.Version, read!.Version);
            Assert.Equal(i, read.Progress!.Current);
        }

        Assert.True(a.Cache.Hits + b.Cache.Hits > 0, "confirmed copies are served from memory");
    }

    [Fact]
    public async Task A_job_deleted_on_one_instance_is_gone_on_the_other()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        var job = await a.Manager.CreateAsync(new NewJob { Type = "t" });
        Assert.NotNull(await b.Manager.GetAsync(job.Id));
        await a.Manager.DeleteAsync(job.Id);
        Assert.Null(await b.Manager.GetAsync(job.Id));
    }

    [Fact]
    public async Task Every_instance_streams_every_instances_events_in_id_order_without_gaps()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        using var onA = a.Hub.Subscribe(100_000);
        using var onB = b.Hub.Subscribe(100_000);

        var ids = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var via = i % 2 == 0 ? a : b;
            var job = await via.Manager.CreateAsync(new NewJob { Type = "t" }, ct);
            await via.Manager.UpdateAsync(job.Id, new JobPatch { Progress = new ProgressPatch { Fraction = 0.5 } }, cancellationToken: ct);
            ids.Add(job.Id);
        });

        var all = await a.Store.GetFeedAsync(0, 10_000, null, CancellationToken.None);
        Assert.Equal(400, all.Count);
        foreach (var subscription in new[] { onA, onB })
        {
            var seen = new List<long>();
            await Poll.UntilAsync(() =>
            {
                while (subscription.Events.TryRead(out var item))
                {
                    seen.Add(item.Event.Id);
                }

                return seen.Count >= all.Count;
            }, "every event on every instance", () => $"{seen.Count} of {all.Count}");
            Assert.Equal(all.Select(f => f.Event.Id), seen);
        }
    }

    [Fact]
    public async Task A_job_queued_on_one_instance_wakes_the_idle_workers_of_another()
    {
        var ran = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await StartAsync("b", h => h.AddHandler("wake", (ctx, _) =>
        {
            ran.TrySetResult(ctx.Job.Id);
            return Task.CompletedTask;
        }));
        var a = await StartAsync("a");

        // b polls only every 5 minutes: only a notice can make it run this now.
        var job = await a.Manager.CreateAsync(new NewJob { Type = "wake" });
        Assert.Equal(job.Id, await Poll.Within(ran.Task, "the handler on the other instance"));
        await Poll.UntilAsync(() => a.Manager.GetAsync(job.Id).AsTask(), j => j!.Status == JobStatus.Completed, "completed");
    }

    [Fact]
    public async Task A_cancel_on_one_instance_stops_the_handler_running_on_another()
    {
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await StartAsync("b", h => h.AddHandler("long", async (ctx, ct) =>
        {
            started.TrySetResult(ctx.Job.Id);
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                stopped.TrySetResult();
            }
        }));
        var a = await StartAsync("a");
        var job = await a.Manager.CreateAsync(new NewJob { Type = "long" });
        await Poll.Within(started.Task, "the handler to start");

        await a.Manager.CancelAsync(job.Id);
        await Poll.Within(stopped.Task, "the handler on the other instance to be cancelled");
        await Poll.UntilAsync(() => a.Manager.GetAsync(job.Id).AsTask(), j => j!.Status == JobStatus.Cancelled, "cancelled");
    }

    [Fact]
    public async Task Claims_from_several_instances_at_once_never_take_the_same_job_twice()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        var c = await StartAsync("c");
        var created = Enumerable.Range(0, 1500).Select(i => $"claim-{i:D4}").ToArray();
        await Parallel.ForEachAsync(created, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (id, ct) => await a.Manager.CreateAsync(new NewJob { Type = "c", Id = id }, ct));

        var claimed = new ConcurrentBag<string>();
        var claimers = new[] { a, b, c }.SelectMany(i => Enumerable.Range(0, 4).Select(_ => i)).Select(instance => Task.Run(async () =>
        {
            while (true)
            {
                var jobs = await instance.Queue.ClaimAsync($"w-{instance.GetHashCode()}", new Dictionary<string, int> { ["c"] = 25 }, 25, TimeSpan.FromMinutes(5));
                if (jobs.Count == 0)
                {
                    return;
                }

                foreach (var job in jobs)
                {
                    claimed.Add(job.Id);
                }
            }
        })).ToArray();
        await Task.WhenAll(claimers);

        Assert.Equal(created.Length, claimed.Count);
        Assert.Equal(created.OrderBy(x => x, StringComparer.Ordinal), claimed.OrderBy(x => x, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Reapers_on_every_instance_requeue_an_expired_lease_exactly_once()
    {
        Action<Workers.JobWorkerOptions> fastReap = w => w.ReapInterval = TimeSpan.FromMilliseconds(20);
        var a = await StartAsync("a", workers: fastReap);
        var b = await StartAsync("b", workers: fastReap);
        await StartAsync("c", workers: fastReap);
        var ids = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            ids.Add((await a.Manager.CreateAsync(new NewJob { Type = "dies" })).Id);
        }

        // Claimed by a worker that then "dies": the leases run out after a second.
        var claimed = await b.Queue.ClaimAsync("gone", new Dictionary<string, int> { ["dies"] = 50 }, 50, TimeSpan.FromSeconds(1));
        Assert.Equal(50, claimed.Count);

        foreach (var id in ids)
        {
            var job = await Poll.UntilAsync(() => a.Manager.GetAsync(id).AsTask(), j => j!.Status == JobStatus.Queued, $"{id} requeued");
            Assert.Equal(2, job!.Attempt);
            var events = await a.Manager.GetEventsAsync(id);
            Assert.Single(events, e => e.Type == JobEventTypes.LeaseExpired);
        }
    }

    [Fact]
    public async Task After_its_notice_connection_drops_an_instance_reconnects_and_streams_what_it_missed()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        using var onB = b.Hub.Subscribe(10_000);
        var before = await a.Manager.CreateAsync(new NewJob { Type = "t" });
        Assert.NotNull(await b.Manager.GetAsync(before.Id));

        // Cut every LISTEN connection on the server: b's cache can no longer be kept in step.
        await using (var admin = new NpgsqlConnection(_database.ConnectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'", admin);
            await kill.ExecuteNonQueryAsync();
        }

        // Written while b may be deaf: b still reads the new version, and its stream gets the events once it is back.
        var during = await a.Manager.UpdateAsync(before.Id, new JobPatch { Progress = new ProgressPatch { Current = 7 } });
        Assert.Equal(during.Version, (await b.Manager.GetAsync(before.Id))!.Version);
        var after = await a.Manager.CreateAsync(new NewJob { Type = "t" });

        var feed = await a.Store.GetFeedAsync(0, 1000, null, CancellationToken.None);
        var seen = new List<long>();
        await Poll.UntilAsync(() =>
        {
            while (onB.Events.TryRead(out var item))
            {
                seen.Add(item.Event.Id);
            }

            return seen.Count >= feed.Count;
        }, "b's stream to catch up", () => string.Join(", ", seen));
        Assert.Equal(feed.Select(f => f.Event.Id), seen);
        Assert.Contains(feed, f => f.Event.JobId == after.Id);
    }
}
