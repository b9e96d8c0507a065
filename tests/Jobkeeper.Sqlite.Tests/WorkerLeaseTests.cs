using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using Jobkeeper.Errors;
using Jobkeeper.Hosting;
using Jobkeeper.Model;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// Recovery of the jobs of dead workers by the hosted lease reaper, driven by the fake clock: the claims
/// come from an "external" worker that simply stops heartbeating.
/// </summary>
public sealed class WorkerLeaseTests : IDisposable
{
    private static readonly TimeSpan ShortLease = TimeSpan.FromSeconds(5);
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private static Dictionary<string, int> Types(string type) => new() { [type] = 10 };

    private static async Task<WorkerHost> StartAsync(string path, Action<Workers.JobWorkerOptions>? workers = null)
    {
        var host = await WorkerHost.StartAsync(path, workers: workers);
        // The reaper's timer must exist before the clock moves, or it would count its interval from the new time.
        await host.Time.WaitForPeriodicTimerAsync(WorkerHost.ReapInterval);
        return host;
    }

    [Fact]
    public async Task An_expired_lease_is_requeued_with_the_next_attempt_and_a_lease_expired_event()
    {
        await using var host = await StartAsync(_database.Path);
        var t0 = host.Time.GetUtcNow();
        await host.CreateAsync("t", id: "orphan", maxAttempts: 3);
        var claimed = Assert.Single(await host.Queue.ClaimAsync("dead-worker", Types("t"), 1, ShortLease));

        host.Time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(JobStatus.Running, (await host.ReadStoredAsync("orphan")).Status);
        host.Time.Advance(TimeSpan.FromSeconds(2));
        var requeued = await host.WaitForStatusAsync("orphan", JobStatus.Queued);

        Assert.Equal(2, requeued.Attempt);
        Assert.Equal(claimed.RunAt, requeued.RunAt); // keeps its place: due at once, ahead of later jobs
        Assert.True(requeued.RunAt <= t0.AddSeconds(6));
        Assert.Null(requeued.LeaseOwner);
        Assert.Null(requeued.LeaseToken);
        Assert.Null(requeued.LeaseExpiresAt);
        Assert.Equal(claimed.Version + 1, requeued.Version);

        var events = await host.EventsAsync("orphan");
        Assert.Equal([JobEventTypes.Created, JobEventTypes.StatusChanged, JobEventTypes.LeaseExpired, JobEventTypes.StatusChanged], events.Select(e => e.Type));
        var expired = events[2];
        Assert.Equal(requeued.Version, expired.Version);
        Assert.Equal("dead-worker", expired.Data!.Value.GetProperty("worker").GetString());
        Assert.Equal(1, expired.Data!.Value.GetProperty("attempt").GetInt32());
        Assert.Equal(t0 + ShortLease, expired.Data!.Value.GetProperty("lease_expires_at").GetDateTimeOffset());
        Assert.Equal("reaper", events[3].Actor);
        Assert.Equal("lease_expired", events[3].Data!.Value.GetProperty("reason").GetString());
        Assert.Equal(2, events[3].Data!.Value.GetProperty("attempt").GetInt32());

        // The dead worker coming back finds its lease gone; another worker picks the job up.
        await Assert.ThrowsAsync<LeaseLostException>(() => host.Queue.HeartbeatAsync("orphan", claimed.LeaseToken!, ShortLease));
        await Assert.ThrowsAsync<LeaseLostException>(() => host.Queue.CompleteAsync("orphan", claimed.LeaseToken!, null));
        var again = Assert.Single(await host.Queue.ClaimAsync("live-worker", Types("t"), 1, ShortLease));
        Assert.Equal(("orphan", 2, "live-worker"), (again.Id, again.Attempt, again.LeaseOwner));
    }

    [Fact]
    public async Task A_lease_that_expires_on_the_last_attempt_fails_the_job_and_a_retry_brings_it_back()
    {
        await using var host = await StartAsync(_database.Path);
        await host.CreateAsync("t", id: "doomed", maxAttempts: 2);

        Assert.Single(await host.Queue.ClaimAsync("dead-1", Types("t"), 1, ShortLease));
        host.Time.Advance(TimeSpan.FromSeconds(6));
        await host.WaitForAsync("doomed", j => j is { Status: JobStatus.Queued, Attempt: 2 }, "queued for attempt 2");

        Assert.Single(await host.Queue.ClaimAsync("dead-2", Types("t"), 1, ShortLease));
        host.Time.Advance(TimeSpan.FromSeconds(6));
        var failed = await host.WaitForStatusAsync("doomed", JobStatus.Failed);

        Assert.Equal(2, failed.Attempt);
        Assert.Equal("lease_expired", failed.Error!.Code);
        Assert.Contains("dead-2", failed.Error.Message, StringComparison.Ordinal);
        Assert.Equal(host.Time.GetUtcNow(), failed.CompletedAt);
        Assert.Null(failed.LeaseToken);
        var events = await host.EventsAsync("doomed");
        Assert.Equal(2, events.Count(e => e.Type == JobEventTypes.LeaseExpired));
        Assert.Equal("failed", events[^1].Data!.Value.GetProperty("to").GetString());

        var retried = await host.Manager.RetryAsync("doomed", actor: "alice");
        Assert.Equal((JobStatus.Queued, 3, 3), (retried.Status, retried.Attempt, retried.MaxAttempts));
        Assert.Equal([JobEventTypes.Retried, JobEventTypes.StatusChanged], (await host.EventsAsync("doomed")).TakeLast(2).Select(e => e.Type));
        Assert.Equal(3, Assert.Single(await host.Queue.ClaimAsync("w", Types("t"), 1, ShortLease)).Attempt);
        await Assert.ThrowsAsync<JobStateConflictException>(() => host.Manager.RetryAsync("doomed"));
    }

    [Fact]
    public async Task A_renewed_lease_is_not_reaped()
    {
        await using var host = await StartAsync(_database.Path);
        var t0 = host.Time.GetUtcNow();
        await host.CreateAsync("t", id: "alive");
        await host.CreateAsync("t", id: "dead");
        var claimed = (await host.Queue.ClaimAsync("w", Types("t"), 2, ShortLease)).ToDictionary(j => j.Id);
        Assert.Equal(2, claimed.Count);

        host.Time.Advance(TimeSpan.FromSeconds(3));
        var renewed = await host.Queue.HeartbeatAsync("alive", claimed["alive"].LeaseToken!, ShortLease);
        Assert.Equal(t0.AddSeconds(8), renewed.LeaseExpiresAt);

        host.Time.Advance(TimeSpan.FromSeconds(3));
        // The reaper looks at every expired lease in one pass: once "dead" is back in the queue, "alive" was spared.
        await host.WaitForStatusAsync("dead", JobStatus.Queued);
        var alive = await host.ReadStoredAsync("alive");
        Assert.Equal((JobStatus.Running, claimed["alive"].LeaseToken, renewed.Version, 1), (alive.Status, alive.LeaseToken, alive.Version, alive.Attempt));
        Assert.DoesNotContain(await host.EventsAsync("alive"), e => e.Type == JobEventTypes.LeaseExpired);
    }

    [Fact]
    public async Task A_job_asked_to_cancel_whose_worker_never_answers_ends_cancelled_after_the_grace_period()
    {
        var grace = TimeSpan.FromSeconds(4);
        await using var host = await StartAsync(_database.Path, w => w.CancelGracePeriod = grace);
        var t0 = host.Time.GetUtcNow();
        await host.CreateAsync("t", id: "deaf", maxAttempts: 3);
        var claimed = Assert.Single(await host.Queue.ClaimAsync("deaf-worker", Types("t"), 1, TimeSpan.FromMinutes(1)));

        var cancelling = await host.Manager.CancelAsync("deaf", actor: "alice");
        Assert.Equal((JobStatus.Running, t0, t0 + grace), (cancelling.Status, cancelling.CancelRequestedAt!.Value, cancelling.LeaseExpiresAt!.Value));
        var requested = (await host.EventsAsync("deaf"))[^1];
        Assert.Equal((JobEventTypes.CancelRequested, "alice"), (requested.Type, requested.Actor));

        host.Time.Advance(TimeSpan.FromSeconds(2));
        var told = await host.Queue.HeartbeatAsync("deaf", claimed.LeaseToken!, TimeSpan.FromMinutes(1));
        Assert.Equal((t0 + grace, cancelling.Version), (told.LeaseExpiresAt!.Value, told.Version));

        host.Time.Advance(TimeSpan.FromSeconds(3));
        var cancelled = await host.WaitForStatusAsync("deaf", JobStatus.Cancelled);
        Assert.Equal(1, cancelled.Attempt);
        Assert.Null(cancelled.LeaseToken);
        Assert.Null(cancelled.Result);
        var events = await host.EventsAsync("deaf");
        Assert.Equal([JobEventTypes.CancelRequested, JobEventTypes.LeaseExpired, JobEventTypes.StatusChanged], events.TakeLast(3).Select(e => e.Type));
        Assert.Equal("cancelled", events[^1].Data!.Value.GetProperty("to").GetString());

        await Assert.ThrowsAsync<LeaseLostException>(() => host.Queue.CompleteAsync("deaf", claimed.LeaseToken!, null));
        Assert.Equal(cancelled.Version, (await host.Manager.CancelAsync("deaf")).Version);
    }

    [Fact]
    public async Task An_in_process_attempt_that_loses_its_lease_is_stopped_its_outcome_discarded_and_the_job_run_again()
    {
        var started = new Signal();
        var stopped = new Signal();
        var attempts = new ConcurrentQueue<int>();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("t", async (ctx, ct) =>
            {
                attempts.Enqueue(ctx.Attempt);
                if (ctx.Attempt > 1)
                {
                    return "fresh";
                }

                started.Set();
                try
                {
                    await HandlerWork.UntilCancelled(ct);
                }
                catch (OperationCanceledException)
                {
                    stopped.Set();
                }

                return "stale";
            }, o => o.MaxConcurrency = 1),
            // This worker never renews in time: as if it had hung.
            workers: w =>
            {
                w.LeaseDuration = ShortLease;
                w.HeartbeatInterval = TimeSpan.FromHours(1);
            });
        await host.Time.WaitForPeriodicTimerAsync(WorkerHost.ReapInterval);

        await host.CreateAsync("t", id: "hung", maxAttempts: 3);
        await started.WaitAsync("the first attempt to start");
        host.Time.Advance(ShortLease + TimeSpan.FromSeconds(1));
        await stopped.WaitAsync("the first attempt to be told it lost its lease");

        var done = await host.WaitForStatusAsync("hung", JobStatus.Completed);
        Assert.Equal((2, "fresh"), (done.Attempt, done.Result!.Value.GetString()));
        Assert.Equal([1, 2], attempts);
        var events = await host.EventsAsync("hung");
        Assert.Single(events, e => e.Type == JobEventTypes.LeaseExpired);
        Assert.Equal(["running", "queued", "running", "completed"],
            events.Where(e => e.Type == JobEventTypes.StatusChanged).Select(e => e.Data!.Value.GetProperty("to").GetString()));
    }

    [Fact]
    public async Task Cancel_ends_a_queued_job_at_once_and_is_refused_for_a_finished_one()
    {
        await using var host = await StartAsync(_database.Path);
        await host.CreateAsync("t", id: "queued");
        await host.CreateAsync("t", id: "done", priority: 1);
        var claimed = Assert.Single(await host.Queue.ClaimAsync("w", Types("t"), 1, ShortLease));
        Assert.Equal("done", claimed.Id);
        await host.Queue.CompleteAsync("done", claimed.LeaseToken!, null);

        var cancelled = await host.Manager.CancelAsync("queued");
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        Assert.Equal(JobStatus.Cancelled, (await host.ReadStoredAsync("queued")).Status);
        Assert.Empty(await host.Queue.ClaimAsync("w", Types("t"), 10, ShortLease));

        var version = (await host.ReadStoredAsync("done")).Version;
        await Assert.ThrowsAsync<JobStateConflictException>(() => host.Manager.CancelAsync("done"));
        await Assert.ThrowsAsync<JobStateConflictException>(() => host.Manager.RetryAsync("done"));
        await Assert.ThrowsAsync<JobNotFoundException>(() => host.Manager.CancelAsync("nobody"));
        Assert.Equal(version, (await host.ReadStoredAsync("done")).Version);

        var retried = await host.Manager.RetryAsync("queued");
        Assert.Equal((JobStatus.Queued, 2), (retried.Status, retried.Attempt));
        Assert.Equal("queued", Assert.Single(await host.Queue.ClaimAsync("w", Types("t"), 10, ShortLease)).Id);
    }
}
