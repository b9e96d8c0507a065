using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Jobkeeper.Workers;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>The worker protocol of <see cref="WorkQueue"/> over a real SQLite file: claims, fencing by lease token, long-poll.</summary>
public sealed class WorkerQueueTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private static Dictionary<string, int> Types(params string[] types) => types.ToDictionary(t => t, _ => JobLimits.MaxClaim);

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Fact]
    public async Task Concurrent_claimers_get_every_job_exactly_once()
    {
        const int jobs = 2000;
        const int claimers = 16;
        await using var host = await WorkerHost.StartAsync(_database.Path);
        var ids = new List<string>();
        for (var chunk = 0; chunk < jobs / 200; chunk++)
        {
            var created = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => host.CreateAsync("bulk", id: $"bulk-{chunk:00}-{i:000}")));
            ids.AddRange(created.Select(j => j.Id));
        }

        using var start = new ManualResetEventSlim();
        var claims = Enumerable.Range(0, claimers).Select(w => Task.Run(async () =>
        {
            var mine = new List<Job>();
            var limits = new Dictionary<string, int> { ["bulk"] = 7 };
            start.Wait();
            while (true)
            {
                var batch = await host.Queue.ClaimAsync($"claimer-{w}", limits, 7, TimeSpan.FromMinutes(10));
                if (batch.Count == 0)
                {
                    return (Worker: $"claimer-{w}", Jobs: mine);
                }

                mine.AddRange(batch);
            }
        })).ToArray();
        start.Set();
        var results = await Poll.Within(Task.WhenAll(claims), "the claimers to drain the queue");

        var claimed = results.SelectMany(r => r.Jobs.Select(j => (r.Worker, Job: j))).ToList();
        Assert.Equal(jobs, claimed.Count);
        Assert.Equal(ids.Order(StringComparer.Ordinal), claimed.Select(c => c.Job.Id).Order(StringComparer.Ordinal));
        Assert.Equal(jobs, claimed.Select(c => c.Job.LeaseToken).Distinct().Count());
        Assert.True(results.Count(r => r.Jobs.Count > 0) > 1, "the claims should have been spread over several claimers");
        Assert.All(claimed, c =>
        {
            Assert.Equal(JobStatus.Running, c.Job.Status);
            Assert.Equal(c.Worker, c.Job.LeaseOwner);
            Assert.Equal(2, c.Job.Version);
            Assert.Equal(1, c.Job.Attempt);
        });

        // The store agrees with what each claimer was handed: one owner per job, the token it got.
        foreach (var (worker, job) in claimed)
        {
            var stored = await host.ReadStoredAsync(job.Id);
            Assert.Equal((JobStatus.Running, worker, job.LeaseToken, 2L), (stored.Status, stored.LeaseOwner, stored.LeaseToken, stored.Version));
        }

        var stats = await host.Manager.GetStatsAsync();
        Assert.Equal(jobs, stats.JobsByStatus.GetValueOrDefault(JobStatus.Running));
        Assert.Equal(0, stats.JobsByStatus.GetValueOrDefault(JobStatus.Queued));
        foreach (var id in ids.Take(20))
        {
            Assert.Equal([JobEventTypes.Created, JobEventTypes.StatusChanged], (await host.EventsAsync(id)).Select(e => e.Type));
        }
    }

    [Fact]
    public async Task Claims_take_the_highest_priority_first_then_the_earliest_run_at_then_the_id()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        var now = host.Time.GetUtcNow();
        await host.CreateAsync("t", id: "t-0-low-late", priority: 0, runAt: now.AddSeconds(-1));
        await host.CreateAsync("u", id: "u-low-early-b", priority: 0, runAt: now.AddSeconds(-5));
        await host.CreateAsync("t", id: "t-low-early-a", priority: 0, runAt: now.AddSeconds(-5));
        await host.CreateAsync("t", id: "t-high", priority: 10, runAt: now);
        await host.CreateAsync("u", id: "u-mid", priority: 5, runAt: now);
        await host.CreateAsync("t", id: "t-mid-earlier", priority: 5, runAt: now.AddSeconds(-30));
        await host.CreateAsync("t", id: "t-negative", priority: -3, runAt: now.AddHours(-1));
        await host.CreateAsync("t", id: "t-future", priority: 100, runAt: now.AddMinutes(1));
        await host.CreateAsync("other", id: "other-top", priority: 1000);

        var order = new List<string>();
        var lease = TimeSpan.FromMinutes(10);
        while (await host.Queue.ClaimAsync("w", Types("t", "u"), 1, lease) is [var job])
        {
            order.Add(job.Id);
        }

        Assert.Equal(["t-high", "t-mid-earlier", "u-mid", "t-low-early-a", "u-low-early-b", "t-0-low-late", "t-negative"], order);
        Assert.Equal(JobStatus.Queued, (await host.ReadStoredAsync("t-future")).Status);
        Assert.Equal(JobStatus.Queued, (await host.ReadStoredAsync("other-top")).Status);

        host.Time.Advance(TimeSpan.FromMinutes(1));
        var due = await host.Queue.ClaimAsync("w", Types("t", "u"), 10, lease);
        Assert.Equal("t-future", Assert.Single(due).Id);
    }

    [Fact]
    public async Task A_claim_takes_at_most_max_in_total_and_the_limit_of_each_type()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        for (var i = 0; i < 5; i++)
        {
            await host.CreateAsync("a", id: $"a-{i}", priority: 1);
            await host.CreateAsync("b", id: $"b-{i}");
        }

        var first = await host.Queue.ClaimAsync("w", new Dictionary<string, int> { ["a"] = 2, ["b"] = 10 }, 4, Lease);
        Assert.Equal(["a-0", "a-1", "b-0", "b-1"], first.Select(j => j.Id));
        var rest = await host.Queue.ClaimAsync("w", new Dictionary<string, int> { ["a"] = 10, ["b"] = 10 }, 1000, Lease);
        Assert.Equal(6, rest.Count);
        Assert.Empty(await host.Queue.ClaimAsync("w", Types("a", "b"), 10, Lease));
    }

    [Fact]
    public async Task Bad_claims_are_refused()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        await host.CreateAsync("t", id: "untouched");
        var queue = host.Queue;

        Assert.Equal("worker_id", (await Assert.ThrowsAsync<JobValidationException>(() => queue.ClaimAsync(" ", Types("t"), 1, Lease))).Field);
        Assert.Equal("worker_id", (await Assert.ThrowsAsync<JobValidationException>(() => queue.ClaimAsync(new string('w', 201), Types("t"), 1, Lease))).Field);
        Assert.Equal("types", (await Assert.ThrowsAsync<JobValidationException>(() => queue.ClaimAsync("w", Types(), 1, Lease))).Field);
        Assert.Equal("max", (await Assert.ThrowsAsync<JobValidationException>(() => queue.ClaimAsync("w", Types("t"), 0, Lease))).Field);
        Assert.Equal("max", (await Assert.ThrowsAsync<JobValidationException>(() => queue.ClaimAsync("w", Types("t"), JobLimits.MaxClaim + 1, Lease))).Field);
        Assert.Equal("lease_seconds", (await Assert.ThrowsAsync<JobValidationException>(() => queue.ClaimAsync("w", Types("t"), 1, TimeSpan.FromMilliseconds(999)))).Field);
        Assert.Equal("lease_seconds", (await Assert.ThrowsAsync<JobValidationException>(() => queue.ClaimAsync("w", Types("t"), 1, TimeSpan.FromHours(1.01)))).Field);
        Assert.Equal("wait_seconds", (await Assert.ThrowsAsync<JobValidationException>(() =>
            queue.ClaimWaitingAsync("w", ["t"], 1, Lease, TimeSpan.FromSeconds(31)))).Field);

        var job = await host.ReadStoredAsync("untouched");
        Assert.Equal((JobStatus.Queued, 1L), (job.Status, job.Version));
    }

    [Fact]
    public async Task A_stale_or_wrong_lease_token_is_refused_and_changes_nothing()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        var queue = host.Queue;
        await host.CreateAsync("t", id: "fenced");
        var first = Assert.Single(await queue.ClaimAsync("worker-a", Types("t"), 1, Lease));
        var stale = first.LeaseToken!;
        await queue.ReleaseAsync("fenced", stale);
        var second = Assert.Single(await queue.ClaimAsync("worker-b", Types("t"), 1, Lease));
        var current = second.LeaseToken!;
        Assert.NotEqual(stale, current);

        var before = await host.ReadStoredAsync("fenced");
        var eventsBefore = (await host.EventsAsync("fenced")).Count;
        foreach (var token in new[] { stale, "not-a-token", "", current.ToUpperInvariant() })
        {
            await AssertRefusedAsync(token);
        }

        var after = await host.ReadStoredAsync("fenced");
        Assert.Equal(before, after with { Labels = before.Labels });
        Assert.Equal((JobStatus.Running, "worker-b", current), (after.Status, after.LeaseOwner, after.LeaseToken));
        Assert.Null(after.Progress);
        Assert.Null(after.Result);
        Assert.Null(after.Error);
        Assert.Equal(eventsBefore, (await host.EventsAsync("fenced")).Count);

        // Once finished, even the token that finished it is no longer current.
        var done = await queue.CompleteAsync("fenced", current, Json("""{"ok":true}"""));
        Assert.Equal(JobStatus.Completed, done.Status);
        await AssertRefusedAsync(current);
        Assert.Equal(done.Version, (await host.ReadStoredAsync("fenced")).Version);

        async Task AssertRefusedAsync(string token)
        {
            await Assert.ThrowsAsync<LeaseLostException>(() => queue.HeartbeatAsync("fenced", token, Lease));
            await Assert.ThrowsAsync<LeaseLostException>(() => queue.ReportProgressAsync("fenced", token, new ProgressPatch { Fraction = 0.5 }, Lease));
            await Assert.ThrowsAsync<LeaseLostException>(() => queue.CompleteAsync("fenced", token, Json("""{"stolen":true}""")));
            await Assert.ThrowsAsync<LeaseLostException>(() => queue.FailAsync("fenced", token, new JobError { Message = "nope" }));
            await Assert.ThrowsAsync<LeaseLostException>(() => queue.ReleaseAsync("fenced", token));
        }
    }

    [Fact]
    public async Task Heartbeats_and_progress_renew_the_lease_until_a_cancel_is_requested()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path, workers: w => w.CancelGracePeriod = TimeSpan.FromSeconds(10));
        var queue = host.Queue;
        var t0 = host.Time.GetUtcNow();
        await host.CreateAsync("t", id: "beating");
        var claimed = Assert.Single(await queue.ClaimAsync("ext", Types("t"), 1, Lease));
        var token = claimed.LeaseToken!;
        Assert.Equal(t0 + Lease, claimed.LeaseExpiresAt);

        host.Time.Advance(TimeSpan.FromSeconds(10));
        var beat = await queue.HeartbeatAsync("beating", token, Lease);
        Assert.Equal(t0.AddSeconds(40), beat.LeaseExpiresAt);
        Assert.Equal(claimed.Version + 1, beat.Version);

        host.Time.Advance(TimeSpan.FromSeconds(5));
        var progressed = await queue.ReportProgressAsync("beating", token,
            new ProgressPatch { Fraction = 0.5, Stage = "decode", Current = 5, Total = 10 }, Lease);
        Assert.Equal(t0.AddSeconds(45), progressed.LeaseExpiresAt);
        Assert.Equal(new JobProgress { Fraction = 0.5, Stage = "decode", Current = 5, Total = 10 }, progressed.Progress);
        var stored = await host.ReadStoredAsync("beating");
        Assert.Equal((t0.AddSeconds(45), progressed.Version), (stored.LeaseExpiresAt!.Value, stored.Version));
        Assert.Equal(new JobProgress { Fraction = 0.5, Stage = "decode", Current = 5, Total = 10 }, stored.Progress);

        host.Time.Advance(TimeSpan.FromSeconds(1));
        var cancelling = await host.Manager.CancelAsync("beating", actor: "alice");
        Assert.Equal(JobStatus.Running, cancelling.Status);
        Assert.Equal(t0.AddSeconds(16), cancelling.CancelRequestedAt);
        Assert.Equal(t0.AddSeconds(26), cancelling.LeaseExpiresAt);
        Assert.Equal(cancelling.Version, (await host.Manager.CancelAsync("beating")).Version);

        host.Time.Advance(TimeSpan.FromSeconds(1));
        var told = await queue.HeartbeatAsync("beating", token, Lease);
        Assert.NotNull(told.CancelRequestedAt);
        Assert.Equal(t0.AddSeconds(26), told.LeaseExpiresAt);
        Assert.Equal(cancelling.Version, told.Version);
        var progressedLate = await queue.ReportProgressAsync("beating", token, new ProgressPatch { Fraction = 0.6 }, Lease);
        Assert.Equal(t0.AddSeconds(26), progressedLate.LeaseExpiresAt);

        var finished = await queue.CompleteAsync("beating", token, Json("""{"late":true}"""));
        Assert.Equal(JobStatus.Cancelled, finished.Status);
        Assert.Null(finished.Result);
        Assert.Null((await host.ReadStoredAsync("beating")).Result);

        var types = (await host.EventsAsync("beating")).Select(e => e.Type).ToList();
        Assert.Equal(
            [JobEventTypes.Created, JobEventTypes.StatusChanged, JobEventTypes.StageChanged, JobEventTypes.Updated,
             JobEventTypes.CancelRequested, JobEventTypes.Updated, JobEventTypes.StatusChanged],
            types);
    }

    [Fact]
    public async Task Fail_with_attempts_left_requeues_after_the_backoff_and_without_retry_fails()
    {
        var policy = new RetryPolicy { BaseDelay = TimeSpan.FromSeconds(4), Jitter = 0.25 };
        await using var host = await WorkerHost.StartAsync(_database.Path, workers: w => w.Retry = policy);
        var queue = host.Queue;
        var t0 = host.Time.GetUtcNow();
        await host.CreateAsync("t", id: "flaky", maxAttempts: 3);

        var first = Assert.Single(await queue.ClaimAsync("ext", Types("t"), 1, Lease));
        var requeued = await queue.FailAsync("flaky", first.LeaseToken!, new JobError { Message = "first", Code = "io" });
        Assert.Equal((JobStatus.Queued, 2), (requeued.Status, requeued.Attempt));
        Assert.InRange(requeued.RunAt, t0.AddSeconds(3), t0.AddSeconds(5));
        Assert.Equal("io", requeued.Error!.Code);
        Assert.Empty(await queue.ClaimAsync("ext", Types("t"), 1, Lease));

        host.Time.Advance(requeued.RunAt - t0);
        var second = Assert.Single(await queue.ClaimAsync("ext", Types("t"), 1, Lease));
        Assert.Equal(2, second.Attempt);
        var custom = await queue.FailAsync("flaky", second.LeaseToken!, new JobError { Message = "second" },
            policy: new RetryPolicy { BaseDelay = TimeSpan.FromMinutes(1), Jitter = 0 });
        Assert.Equal(TimeMicros.Truncate(host.Time.GetUtcNow()).AddMinutes(2), custom.RunAt);

        host.Time.Advance(TimeSpan.FromMinutes(2));
        var third = Assert.Single(await queue.ClaimAsync("ext", Types("t"), 1, Lease));
        var failed = await queue.FailAsync("flaky", third.LeaseToken!, new JobError { Message = "third" });
        Assert.Equal((JobStatus.Failed, 3, "third"), (failed.Status, failed.Attempt, failed.Error!.Message));

        await host.CreateAsync("t", id: "fatal", maxAttempts: 5);
        var fatal = Assert.Single(await queue.ClaimAsync("ext", Types("t"), 1, Lease));
        var gaveUp = await queue.FailAsync("fatal", fatal.LeaseToken!, new JobError { Message = "bad input", Code = "invalid" }, retry: false);
        Assert.Equal((JobStatus.Failed, 1), (gaveUp.Status, gaveUp.Attempt));
        await Assert.ThrowsAsync<JobValidationException>(() =>
            queue.FailAsync("fatal", fatal.LeaseToken!, new JobError { Message = " " }));
    }

    [Fact]
    public async Task A_retry_run_at_reads_the_same_from_the_cache_and_from_the_store()
    {
        // A backoff is a random number of seconds, so now + backoff has ticks below the microsecond the store keeps.
        await using var host = await WorkerHost.StartAsync(_database.Path, workers: w => w.Retry = new RetryPolicy { BaseDelay = TimeSpan.FromSeconds(1.23456789), Jitter = 0 });
        await host.CreateAsync("t", id: "precise", maxAttempts: 3);
        var claimed = Assert.Single(await host.Queue.ClaimAsync("ext", Types("t"), 1, Lease));
        var requeued = await host.Queue.FailAsync("precise", claimed.LeaseToken!, new JobError { Message = "again" });

        var cached = await host.Manager.GetAsync("precise");
        var stored = await host.ReadStoredAsync("precise");
        Assert.Equal(stored.RunAt, cached!.RunAt);
        Assert.Equal(stored.RunAt, requeued.RunAt);
    }

    [Fact]
    public async Task Released_jobs_go_back_to_the_queue_at_once_with_the_same_attempt()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        await host.CreateAsync("t", id: "given-back", priority: 3);
        var claimed = Assert.Single(await host.Queue.ClaimAsync("ext", Types("t"), 1, Lease));
        host.Time.Advance(TimeSpan.FromSeconds(3));

        var released = await host.Queue.ReleaseAsync("given-back", claimed.LeaseToken!);
        Assert.Equal((JobStatus.Queued, 1, claimed.RunAt), (released.Status, released.Attempt, released.RunAt));
        Assert.Null(released.LeaseToken);
        var events = await host.EventsAsync("given-back");
        Assert.Equal([JobEventTypes.Released, JobEventTypes.StatusChanged], events.TakeLast(2).Select(e => e.Type));
        Assert.Equal("released", events[^1].Data!.Value.GetProperty("reason").GetString());

        var again = Assert.Single(await host.Queue.ClaimAsync("other", Types("t"), 1, Lease));
        Assert.Equal(("given-back", 1, "other"), (again.Id, again.Attempt, again.LeaseOwner));
    }

    [Fact]
    public async Task A_waiting_claim_wakes_as_soon_as_a_job_is_queued()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        var wait = TimeSpan.FromSeconds(30);
        var claiming = host.Queue.ClaimWaitingAsync("ext", ["t", "u"], 5, Lease, wait);
        await host.Time.WaitForTimerAsync(wait);
        Assert.False(claiming.IsCompleted);

        await host.CreateAsync("other", id: "not-mine");
        await host.CreateAsync("u", id: "mine");
        var claimed = await Poll.Within(claiming, "the waiting claim to return the new job");

        Assert.Equal("mine", Assert.Single(claimed).Id);
        Assert.Equal((JobStatus.Running, "ext"), (claimed[0].Status, claimed[0].LeaseOwner));
        Assert.Equal(TimeSpan.Zero, host.Time.Elapsed);
    }

    [Fact]
    public async Task A_waiting_claim_takes_a_job_that_comes_due_and_returns_empty_when_the_wait_runs_out()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        var t0 = host.Time.GetUtcNow();
        await host.CreateAsync("t", id: "later", runAt: t0.AddSeconds(3));

        var claiming = host.Queue.ClaimWaitingAsync("ext", ["t"], 5, Lease, TimeSpan.FromSeconds(20));
        await host.Time.WaitForTimerDueAtAsync(t0.AddSeconds(3));
        Assert.False(claiming.IsCompleted);
        host.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal("later", Assert.Single(await Poll.Within(claiming, "the claim of the job that came due")).Id);

        var empty = host.Queue.ClaimWaitingAsync("ext", ["t"], 5, Lease, TimeSpan.FromSeconds(5));
        await host.Time.WaitForTimerAsync(TimeSpan.FromSeconds(5));
        host.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(await Poll.Within(empty, "the claim to give up"));

        Assert.Empty(await Poll.Within(host.Queue.ClaimWaitingAsync("ext", ["t"], 5, Lease, TimeSpan.Zero), "a claim that does not wait"));
    }

    [Fact]
    public async Task A_waiting_claim_by_queue_wakes_for_a_job_queued_in_it_and_takes_one_that_comes_due_there()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        var wait = TimeSpan.FromSeconds(30);
        var claiming = host.Queue.ClaimWaitingAsync("ext", [], ["renders"], 5, Lease, wait);
        await host.Time.WaitForTimerAsync(wait);
        Assert.False(claiming.IsCompleted);

        await host.CreateAsync("t", id: "other-queue", queue: "uploads");
        await host.CreateAsync("u", id: "mine", queue: "renders");
        var claimed = await Poll.Within(claiming, "the waiting claim to return the job queued in its queue");

        Assert.Equal("mine", Assert.Single(claimed).Id);
        Assert.Equal(TimeSpan.Zero, host.Time.Elapsed);

        var t0 = host.Time.GetUtcNow();
        await host.CreateAsync("t", id: "later", runAt: t0.AddSeconds(3), queue: "renders");
        var later = host.Queue.ClaimWaitingAsync("ext", [], ["renders"], 5, Lease, TimeSpan.FromSeconds(20));
        await host.Time.WaitForTimerDueAtAsync(t0.AddSeconds(3));
        Assert.False(later.IsCompleted);
        host.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal("later", Assert.Single(await Poll.Within(later, "the claim of the job that came due in its queue")).Id);
    }

    [Fact]
    public async Task A_waiting_claim_wakes_when_its_queue_is_resumed()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        var queues = host.Services.GetRequiredService<Jobkeeper.Queues.QueueManager>();
        await host.CreateAsync("t", id: "held", queue: "renders");
        await queues.PauseAsync("renders");
        var wait = TimeSpan.FromSeconds(30);
        var claiming = host.Queue.ClaimWaitingAsync("ext", ["t"], 5, Lease, wait);
        await host.Time.WaitForTimerAsync(wait);
        Assert.False(claiming.IsCompleted);

        await queues.ResumeAsync("renders");
        var claimed = await Poll.Within(claiming, "the waiting claim to take the job once its queue was resumed");

        Assert.Equal("held", Assert.Single(claimed).Id);
        Assert.Equal(TimeSpan.Zero, host.Time.Elapsed);
    }

    [Fact]
    public async Task A_waiting_claim_wakes_when_a_running_job_of_its_limited_queue_ends()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        var queues = host.Services.GetRequiredService<Jobkeeper.Queues.QueueManager>();
        await host.CreateAsync("t", id: "first", queue: "renders");
        await host.CreateAsync("t", id: "second", queue: "renders");
        await queues.UpdateAsync("renders", new Jobkeeper.Contracts.UpdateQueueRequest { ConcurrencyLimit = 1 });
        var running = Assert.Single(await host.Queue.ClaimAsync("ext", Types("t"), 5, Lease));
        var wait = TimeSpan.FromSeconds(30);
        var claiming = host.Queue.ClaimWaitingAsync("ext", ["t"], 5, Lease, wait);
        await host.Time.WaitForTimerAsync(wait);
        Assert.False(claiming.IsCompleted);

        await host.Queue.CompleteAsync(running.Id, running.LeaseToken!, null);
        var claimed = await Poll.Within(claiming, "the waiting claim to take the job the limit held back");

        Assert.Equal("second", Assert.Single(claimed).Id);
        Assert.Equal(TimeSpan.Zero, host.Time.Elapsed);
    }
}
