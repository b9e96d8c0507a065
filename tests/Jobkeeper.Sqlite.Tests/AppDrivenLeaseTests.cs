using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// Jobs an application sets running itself (an update to running, no worker's claim): every one gets an owner and a
/// lease; the process that set it running renews it while it lives; a lease nobody renews is recovered like a
/// worker's; a clean stop settles what the process was driving. Driven by the fake clock over a real SQLite file.
/// </summary>
public sealed class AppDrivenLeaseTests : IDisposable
{
    private static readonly TimeSpan AppLease = TimeSpan.FromSeconds(60);
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private static async Task<WorkerHost> StartAsync(string path, Action<JobkeeperBuilder>? handlers = null, TimeSpan? runnerSeenWithin = null)
    {
        var host = await WorkerHost.StartAsync(path, handlers, workers: o =>
        {
            o.AppLeaseDuration = AppLease;
            o.RunnerSeenWithin = runnerSeenWithin ?? TimeSpan.FromHours(1);
        });
        await host.Time.WaitForPeriodicTimerAsync(WorkerHost.ReapInterval);
        return host;
    }

    [Fact]
    public async Task A_job_the_app_sets_running_gets_this_process_as_owner_and_a_lease_renewed_while_it_lives()
    {
        await using var host = await StartAsync(_database.Path);
        var t0 = host.Time.GetUtcNow();
        await host.CreateAsync("render", id: "driven");

        var running = await host.Manager.UpdateAsync("driven", new JobPatch { Status = JobStatus.Running });

        Assert.Equal(WorkerHost.WorkerId, running.LeaseOwner);
        Assert.NotNull(running.LeaseToken);
        Assert.Equal(t0 + AppLease, running.LeaseExpiresAt);

        // Three times the lease goes by; the keeper renews a third into each lease, so the reaper never finds it expired.
        var until = t0 + (AppLease * 3);
        while (host.Time.GetUtcNow() < until)
        {
            var before = (await host.ReadStoredAsync("driven")).LeaseExpiresAt!.Value;
            // The keeper's own timer (a third of the lease), not another that happens to be due then (a 60 s one armed at start).
            await host.Time.WaitForTimerDueAtAsync(before - (AppLease * 2 / 3), dueTime: AppLease / 3);
            host.Time.Advance(AppLease / 3);
            await host.WaitForAsync("driven", j => j.LeaseExpiresAt > before, "renewed");
        }

        var stored = await host.ReadStoredAsync("driven");
        Assert.Equal(JobStatus.Running, stored.Status);
        Assert.Equal(1, stored.Attempt);
        Assert.Equal(running.LeaseToken, stored.LeaseToken);
        Assert.True(stored.LeaseExpiresAt > host.Time.GetUtcNow() + (AppLease / 2), host.Describe(stored));

        // Finished by the app: no longer kept.
        var done = await host.Manager.UpdateAsync("driven", new JobPatch { Status = JobStatus.Completed });
        Assert.Null(done.LeaseExpiresAt);
    }

    [Fact]
    public async Task A_job_set_running_for_another_driver_is_not_kept_alive_and_is_recovered_after_its_lease()
    {
        await using var host = await StartAsync(_database.Path);
        // Something runs "render" (a worker claimed it lately); nothing runs "report".
        await host.Queue.ClaimAsync("http-worker", new Dictionary<string, int> { ["render"] = 1 }, 1, TimeSpan.FromSeconds(30));
        await host.CreateAsync("render", id: "runnable", maxAttempts: 3);
        await host.CreateAsync("report", id: "orphan", maxAttempts: 3);

        foreach (var id in new[] { "runnable", "orphan" })
        {
            var running = await host.Manager.UpdateAsync(id,
                new JobPatch { Status = JobStatus.Running, LeaseOwner = "remote-app", Lease = TimeSpan.FromSeconds(5) }, actor: "remote-app");
            Assert.Equal("remote-app", running.LeaseOwner);
        }

        // An update renews the lease for its length: 4 s in, it runs to 9 s.
        host.Time.Advance(TimeSpan.FromSeconds(4));
        var renewed = await host.Manager.UpdateAsync("orphan", new JobPatch { Progress = new ProgressPatch { Fraction = 0.5 }, LeaseOwner = "remote-app" });
        Assert.Equal(host.Time.GetUtcNow().AddSeconds(5), renewed.LeaseExpiresAt);

        host.Time.Advance(TimeSpan.FromSeconds(2));
        var requeued = await host.WaitForStatusAsync("runnable", JobStatus.Queued);
        Assert.Equal(2, requeued.Attempt);
        Assert.Equal(JobStatus.Running, (await host.ReadStoredAsync("orphan")).Status);

        host.Time.Advance(TimeSpan.FromSeconds(4));
        var failed = await host.WaitForStatusAsync("orphan", JobStatus.Failed);
        Assert.Equal(JobErrorCodes.NoRunner, failed.Error!.Code);
        Assert.Contains("remote-app", failed.Error.Message, StringComparison.Ordinal);
        Assert.Contains("'report'", failed.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_type_counts_as_runnable_only_while_a_worker_was_seen_recently()
    {
        await using var host = await StartAsync(_database.Path, runnerSeenWithin: TimeSpan.FromSeconds(30));
        await host.Queue.ClaimAsync("http-worker", new Dictionary<string, int> { ["render"] = 1 }, 1, TimeSpan.FromSeconds(30));
        // The worker was last seen 40 s before the lease expires: longer ago than 30 s.
        host.Time.Advance(TimeSpan.FromSeconds(35));
        await host.CreateAsync("render", id: "stale-runner");
        await host.Manager.UpdateAsync("stale-runner", new JobPatch { Status = JobStatus.Running, LeaseOwner = "remote-app", Lease = TimeSpan.FromSeconds(5) });

        host.Time.Advance(TimeSpan.FromSeconds(6));

        var failed = await host.WaitForStatusAsync("stale-runner", JobStatus.Failed);
        Assert.Equal(JobErrorCodes.NoRunner, failed.Error!.Code);
    }

    [Fact]
    public async Task A_clean_stop_queues_a_driven_job_again_when_a_handler_runs_its_type_and_fails_it_as_interrupted_otherwise()
    {
        var host = await StartAsync(_database.Path, handlers: b => b.AddHandler("handled", (_, _) => Task.FromResult<object?>(null)));
        var later = host.Time.GetUtcNow().AddHours(1);
        // Not due, so the handler does not claim them first; the app sets them running itself.
        await host.CreateAsync("handled", id: "handled-1", runAt: later);
        await host.CreateAsync("nobody", id: "nobody-1", runAt: later);
        await host.Manager.UpdateAsync("handled-1", new JobPatch { Status = JobStatus.Running });
        await host.Manager.UpdateAsync("nobody-1", new JobPatch { Status = JobStatus.Running });

        await host.DisposeAsync();

        Assert.Contains(host.Logs.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("1 were queued again and 1 ended", StringComparison.Ordinal));
        await using var after = await WorkerHost.StartAsync(_database.Path);
        var handled = await after.ReadStoredAsync("handled-1");
        Assert.Equal((JobStatus.Queued, 1), (handled.Status, handled.Attempt));
        var nobody = await after.ReadStoredAsync("nobody-1");
        Assert.Equal(JobStatus.Failed, nobody.Status);
        Assert.Equal(JobErrorCodes.Interrupted, nobody.Error!.Code);
    }
}
