using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Microsoft.Extensions.Time.Testing;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>Cancelling jobs the engine runs or will run, jobs deleted under it, and shutting the engine down.</summary>
public sealed class WorkerCancellationTests : IDisposable
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(7);
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(13);
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task A_queued_job_that_is_cancelled_never_runs()
    {
        var worker = await OneSlotWorker.StartAsync(_database.Path);
        await using var host = worker.Host;
        try
        {
            await host.CreateAsync("work", id: "victim", priority: 10);

            var cancelled = await host.Manager.CancelAsync("victim", actor: "alice");
            Assert.Equal(JobStatus.Cancelled, cancelled.Status);
            Assert.Equal(host.Time.GetUtcNow(), cancelled.CompletedAt);
            Assert.Null(cancelled.CancelRequestedAt);
            var e = (await host.EventsAsync("victim"))[^1];
            Assert.Equal((JobEventTypes.StatusChanged, "alice", "cancelled"), (e.Type, e.Actor, e.Data!.Value.GetProperty("to").GetString()));
        }
        finally
        {
            worker.Release();
        }

        await host.CreateAsync("work", id: "fence");
        await host.WaitForStatusAsync("fence", JobStatus.Completed);
        Assert.Equal(["fence"], worker.Ran);
        var victim = await host.ReadStoredAsync("victim");
        Assert.Equal((JobStatus.Cancelled, 2L, (DateTimeOffset?)null), (victim.Status, victim.Version, victim.StartedAt));
    }

    [Theory]
    [InlineData("throw")]
    [InlineData("return")]
    [InlineData("fail")]
    public async Task A_running_handler_that_stops_when_cancelled_ends_cancelled_whatever_it_does(string reaction)
    {
        var started = new Signal();
        var sawCancel = new Signal();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler<object?>("coop", async (_, ct) =>
            {
                started.Set();
                try
                {
                    await HandlerWork.UntilCancelled(ct);
                }
                catch (OperationCanceledException)
                {
                    sawCancel.Set();
                    switch (reaction)
                    {
                        case "return":
                            return new { Partial = true };
                        case "fail":
                            throw new InvalidOperationException("stopped half way");
                        default:
                            throw;
                    }
                }

                return null;
            }),
            workers: w => w.CancelGracePeriod = Grace);

        await host.CreateAsync("coop", id: "coop", maxAttempts: 3);
        await started.WaitAsync("the handler to start");
        var cancelling = await host.Manager.CancelAsync("coop", actor: "alice");
        Assert.Equal((JobStatus.Running, host.Time.GetUtcNow() + Grace), (cancelling.Status, cancelling.LeaseExpiresAt!.Value));

        await sawCancel.WaitAsync("the handler's token to fire");
        var cancelled = await host.WaitForStatusAsync("coop", JobStatus.Cancelled);
        Assert.Equal(1, cancelled.Attempt);
        Assert.Null(cancelled.Result);
        Assert.Null(cancelled.Error);
        Assert.Null(cancelled.LeaseToken);
        Assert.Equal(cancelling.CancelRequestedAt, cancelled.CancelRequestedAt);
        Assert.Equal(TimeSpan.Zero, host.Time.Elapsed);

        var events = await host.EventsAsync("coop");
        Assert.Equal([JobEventTypes.CancelRequested, JobEventTypes.StatusChanged], events.TakeLast(2).Select(e => e.Type));
        Assert.Equal("alice", events[^2].Actor);
        Assert.Equal("cancelled", events[^1].Data!.Value.GetProperty("to").GetString());
        Assert.DoesNotContain(events, e => e.Type == JobEventTypes.StatusChanged && e.Data!.Value.GetProperty("to").GetString() == "queued");
    }

    [Fact]
    public async Task A_cancelled_job_that_is_retried_runs_again_to_completion()
    {
        var firstStarted = new Signal();
        var attempts = new ConcurrentQueue<int>();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("again", async (ctx, ct) =>
            {
                attempts.Enqueue(ctx.Attempt);
                if (ctx.Attempt == 1)
                {
                    firstStarted.Set();
                    await HandlerWork.UntilCancelled(ct);
                }

                return $"attempt {ctx.Attempt}";
            }));

        await host.CreateAsync("again", id: "again", maxAttempts: 1);
        await firstStarted.WaitAsync("the first attempt to start");
        await host.Manager.CancelAsync("again");
        await host.WaitForStatusAsync("again", JobStatus.Cancelled);

        var retried = await host.Manager.RetryAsync("again", actor: "alice");
        Assert.Equal((JobStatus.Queued, 2, 2), (retried.Status, retried.Attempt, retried.MaxAttempts));
        Assert.Null(retried.CancelRequestedAt);
        var done = await host.WaitForStatusAsync("again", JobStatus.Completed);
        Assert.Equal((2, "attempt 2"), (done.Attempt, done.Result!.Value.GetString()));
        Assert.Equal([1, 2], attempts);
    }

    [Fact]
    public async Task A_handler_that_ignores_cancellation_is_abandoned_after_the_grace_period_and_its_slot_runs_another_job()
    {
        var release = new Signal();
        var started = new Signal();
        var tokenFired = new Signal();
        var ran = new ConcurrentQueue<string>();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("stubborn", async (ctx, ct) =>
            {
                ran.Enqueue(ctx.JobId);
                if (ctx.JobId != "stubborn")
                {
                    return $"ran {ctx.JobId}";
                }

                using var registration = ct.Register(tokenFired.Set);
                started.Set();
                await release.Task;
                return "late result";
            }, o => o.MaxConcurrency = 1),
            workers: w => w.CancelGracePeriod = Grace);
        Job cancelled;
        try
        {
            await host.CreateAsync("stubborn", id: "stubborn", maxAttempts: 3);
            await started.WaitAsync("the stubborn handler to start");
            await host.CreateAsync("stubborn", id: "next");

            var cancelling = await host.Manager.CancelAsync("stubborn", actor: "alice");
            Assert.Equal(host.Time.GetUtcNow() + Grace, cancelling.LeaseExpiresAt);
            await tokenFired.WaitAsync("the handler's token to fire");
            await host.Time.WaitForTimerAsync(Grace);
            Assert.Equal(JobStatus.Running, (await host.ReadStoredAsync("stubborn")).Status);
            Assert.Equal(JobStatus.Queued, (await host.ReadStoredAsync("next")).Status);

            host.Time.Advance(Grace);
            cancelled = await host.WaitForStatusAsync("stubborn", JobStatus.Cancelled);
            Assert.Equal(1, cancelled.Attempt);
            Assert.Null(cancelled.Result);
            Assert.Null(cancelled.LeaseToken);

            // The freed slot runs the next job while the abandoned handler still hangs.
            var next = await host.WaitForStatusAsync("next", JobStatus.Completed);
            Assert.Equal("ran next", next.Result!.Value.GetString());
            Assert.False(release.IsSet);
        }
        finally
        {
            release.Set();
        }

        await host.CreateAsync("stubborn", id: "after");
        await host.WaitForStatusAsync("after", JobStatus.Completed);
        var stored = await host.ReadStoredAsync("stubborn");
        Assert.Equal((JobStatus.Cancelled, cancelled.Version), (stored.Status, stored.Version));
        Assert.Null(stored.Result);
        Assert.Equal(["stubborn", "next", "after"], ran);
        var events = await host.EventsAsync("stubborn");
        Assert.Contains(events, e => e.Type == JobEventTypes.CancelRequested && e.Actor == "alice");
        Assert.Equal("cancelled", events[^1].Data!.Value.GetProperty("to").GetString());
    }

    [Fact]
    public async Task A_job_deleted_while_it_runs_stops_its_handler_and_frees_the_slot()
    {
        var started = new Signal();
        var stopped = new Signal();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("t", async (ctx, ct) =>
            {
                if (ctx.JobId != "victim")
                {
                    return;
                }

                started.Set();
                try
                {
                    await HandlerWork.UntilCancelled(ct);
                }
                catch (OperationCanceledException)
                {
                    stopped.Set();
                    throw;
                }
            }, o => o.MaxConcurrency = 1));

        await host.CreateAsync("t", id: "victim");
        await started.WaitAsync("the handler to start");
        await host.Manager.DeleteAsync("victim");
        await stopped.WaitAsync("the handler to be told to stop");

        await host.CreateAsync("t", id: "after");
        await host.WaitForStatusAsync("after", JobStatus.Completed);
        Assert.Null(await host.Store.GetAsync("victim", CancellationToken.None));
    }

    [Fact]
    public async Task Shutdown_releases_a_job_whose_handler_outlives_the_grace_period()
    {
        var release = new Signal();
        var started = new Signal();
        DateTimeOffset stoppedAt;
        try
        {
            await using (var host = await WorkerHost.StartAsync(_database.Path,
                handlers: b => b.AddHandler("endless", async (_, _) =>
                {
                    started.Set();
                    await release.Task;
                    return "never stored";
                }),
                workers: w =>
                {
                    w.ShutdownGracePeriod = ShutdownGrace;
                    w.CancelGracePeriod = Grace;
                }))
            {
                await host.CreateAsync("endless", id: "endless", maxAttempts: 3);
                await started.WaitAsync("the handler to start");
                Assert.Equal((JobStatus.Running, 1), ((await host.ReadStoredAsync("endless")).Status, (await host.ReadStoredAsync("endless")).Attempt));

                var stopping = host.StopAsync();
                await host.Time.WaitForTimerAsync(ShutdownGrace);
                host.Time.Advance(ShutdownGrace - TimeSpan.FromSeconds(1));
                Assert.False(stopping.IsCompleted);
                host.Time.Advance(TimeSpan.FromSeconds(1));
                await Poll.Within(stopping, "the host to stop");
                stoppedAt = host.Time.GetUtcNow();
            }

            await using var reopened = await ManagerHost.StartAsync(_database.Path, time: new FakeTimeProvider(stoppedAt));
            var job = await reopened.Manager.GetAsync("endless");
            Assert.NotNull(job);
            Assert.Equal((JobStatus.Queued, 1, 3), (job.Status, job.Attempt, job.MaxAttempts));
            Assert.True(job.RunAt < stoppedAt, "a released job keeps its earlier run_at, so it is due at once");
            Assert.Null(job.LeaseOwner);
            Assert.Null(job.LeaseToken);
            Assert.Null(job.Result);

            var events = await reopened.Manager.GetEventsAsync("endless");
            Assert.Equal([JobEventTypes.Released, JobEventTypes.StatusChanged], events.TakeLast(2).Select(e => e.Type));
            Assert.Equal(WorkerHost.WorkerId, events[^2].Data!.Value.GetProperty("worker").GetString());
            Assert.Equal(1, events[^2].Data!.Value.GetProperty("attempt").GetInt32());
            Assert.Equal(("released", "queued", 1), (
                events[^1].Data!.Value.GetProperty("reason").GetString(),
                events[^1].Data!.Value.GetProperty("to").GetString(),
                events[^1].Data!.Value.GetProperty("attempt").GetInt32()));
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task Shutdown_lets_a_handler_finish_within_the_grace_period()
    {
        var release = new Signal();
        var started = new Signal();
        try
        {
            await using (var host = await WorkerHost.StartAsync(_database.Path,
                handlers: b => b.AddHandler("finisher", async (_, _) =>
                {
                    started.Set();
                    await release.Task;
                    return "finished during shutdown";
                }),
                workers: w => w.ShutdownGracePeriod = ShutdownGrace))
            {
                await host.CreateAsync("finisher", id: "finisher");
                await started.WaitAsync("the handler to start");

                var stopping = host.StopAsync();
                await host.Time.WaitForTimerAsync(ShutdownGrace);
                Assert.False(stopping.IsCompleted);
                release.Set();
                await Poll.Within(stopping, "the host to stop");
                Assert.Equal(TimeSpan.Zero, host.Time.Elapsed);
            }

            await using var reopened = await ManagerHost.StartAsync(_database.Path);
            var job = await reopened.Manager.GetAsync("finisher");
            Assert.Equal((JobStatus.Completed, 1, "finished during shutdown"), (job!.Status, job.Attempt, job.Result!.Value.GetString()));
            Assert.DoesNotContain(await reopened.Manager.GetEventsAsync("finisher"), e => e.Type == JobEventTypes.Released);
        }
        finally
        {
            release.Set();
        }
    }
}
