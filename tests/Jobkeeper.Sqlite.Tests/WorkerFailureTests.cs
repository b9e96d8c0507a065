using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Jobkeeper.Workers;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>How the engine records failed attempts: retries with backoff, timeouts, results it cannot store.</summary>
public sealed class WorkerFailureTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    private sealed class Cycle
    {
        public Cycle? Next { get; set; }
    }

    [Fact]
    public async Task A_throwing_handler_is_retried_after_the_backoff_and_fails_once_its_attempts_are_spent()
    {
        var calls = new ConcurrentQueue<(string Id, int Attempt, DateTimeOffset At)>();
        TestClock? clock = null;
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b
                .AddHandler("flaky", (ctx, _) =>
                {
                    calls.Enqueue((ctx.JobId, ctx.Attempt, clock!.GetUtcNow()));
                    throw new InvalidOperationException($"boom {ctx.Attempt}");
                }, o => o.Retry = new RetryPolicy { BaseDelay = TimeSpan.FromSeconds(10), Jitter = 0.2 })
                .AddHandler("fence", (_, _) => Task.CompletedTask),
            // The type's own policy wins over this one.
            workers: w => w.Retry = new RetryPolicy { BaseDelay = TimeSpan.FromHours(1), Jitter = 0 });
        clock = host.Time;

        await host.CreateAsync("flaky", id: "flaky", maxAttempts: 3);
        var second = await host.WaitForAsync("flaky", j => j is { Status: JobStatus.Queued, Attempt: 2 }, "queued for attempt 2");
        var failedAt = host.Time.GetUtcNow();
        Assert.InRange(second.RunAt, failedAt.AddSeconds(8), failedAt.AddSeconds(12));
        Assert.Equal(("exception", "boom 1"), (second.Error!.Code, second.Error.Message));
        Assert.Null(second.LeaseToken);

        // The engine claims again for another job, and leaves the retry alone until it is due.
        await host.CreateAsync("fence", id: "fence");
        await host.WaitForStatusAsync("fence", JobStatus.Completed);
        Assert.Single(calls);
        Assert.Equal((JobStatus.Queued, 2), ((await host.ReadStoredAsync("flaky")).Status, (await host.ReadStoredAsync("flaky")).Attempt));

        await host.Time.WaitForTimerDueAtAsync(second.RunAt);
        host.Time.Advance(second.RunAt - host.Time.GetUtcNow());
        var third = await host.WaitForAsync("flaky", j => j is { Status: JobStatus.Queued, Attempt: 3 }, "queued for attempt 3");
        var secondFailedAt = host.Time.GetUtcNow();
        Assert.InRange(third.RunAt, secondFailedAt.AddSeconds(16), secondFailedAt.AddSeconds(24));
        Assert.Equal("boom 2", third.Error!.Message);

        await host.Time.WaitForTimerDueAtAsync(third.RunAt);
        host.Time.Advance(third.RunAt - host.Time.GetUtcNow());
        var failed = await host.WaitForStatusAsync("flaky", JobStatus.Failed);

        Assert.Equal((3, 3), (failed.Attempt, failed.MaxAttempts));
        Assert.Equal(("exception", "boom 3"), (failed.Error!.Code, failed.Error.Message));
        var details = failed.Error.Details!.Value;
        Assert.Equal("System.InvalidOperationException", details.GetProperty("exception_type").GetString());
        var stack = details.GetProperty("stack").GetString();
        Assert.Contains(nameof(WorkerFailureTests), stack, StringComparison.Ordinal);
        Assert.Equal(host.Time.GetUtcNow(), failed.CompletedAt);
        Assert.Null(failed.LeaseToken);

        Assert.Equal([(1, TestClock.Origin), (2, second.RunAt), (3, third.RunAt)], calls.Select(c => (c.Attempt, c.At)));
        var statusEvents = (await host.EventsAsync("flaky")).Where(e => e.Type == JobEventTypes.StatusChanged).Select(e => e.Data!.Value).ToList();
        Assert.Equal(["running", "queued", "running", "queued", "running", "failed"], statusEvents.Select(d => d.GetProperty("to").GetString()));
        Assert.All(statusEvents.Where(d => d.GetProperty("to").GetString() == "queued"), d => Assert.Equal("retry", d.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task An_attempt_that_overruns_its_timeout_fails_with_timeout_and_is_retried()
    {
        var timeout = TimeSpan.FromSeconds(5);
        var started = new ConcurrentQueue<int>();
        var sawCancel = new Signal();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("slow", async (ctx, ct) =>
            {
                started.Enqueue(ctx.Attempt);
                if (ctx.Attempt == 1)
                {
                    try
                    {
                        await HandlerWork.UntilCancelled(ct);
                    }
                    catch (OperationCanceledException)
                    {
                        sawCancel.Set();
                        throw;
                    }
                }

                return "second time lucky";
            }, o =>
            {
                o.Timeout = timeout;
                o.Retry = new RetryPolicy { BaseDelay = TimeSpan.FromSeconds(1), Jitter = 0 };
            }));

        await host.CreateAsync("slow", id: "slow", maxAttempts: 2);
        await Poll.UntilAsync(() => !started.IsEmpty, "the first attempt to start");
        await host.Time.WaitForTimerAsync(timeout);
        host.Time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(JobStatus.Running, (await host.ReadStoredAsync("slow")).Status);
        Assert.False(sawCancel.IsSet);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await sawCancel.WaitAsync("the handler to be told to stop");

        var retry = await host.WaitForAsync("slow", j => j is { Status: JobStatus.Queued, Attempt: 2 }, "queued for attempt 2");
        Assert.Equal("timeout", retry.Error!.Code);
        Assert.Contains("5 s timeout", retry.Error.Message, StringComparison.Ordinal);
        Assert.Equal(host.Time.GetUtcNow().AddSeconds(1), retry.RunAt);

        await host.Time.WaitForTimerDueAtAsync(retry.RunAt);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        var done = await host.WaitForStatusAsync("slow", JobStatus.Completed);
        Assert.Equal((2, "second time lucky"), (done.Attempt, done.Result!.Value.GetString()));
        Assert.Equal([1, 2], started);
    }

    [Fact]
    public async Task An_attempt_that_ignores_its_timeout_is_abandoned_after_the_grace_period_and_retried()
    {
        var timeout = TimeSpan.FromSeconds(5);
        var grace = TimeSpan.FromSeconds(7);
        var stuck = new Signal();
        var started = new Signal();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("stuck", async (ctx, _) =>
            {
                if (ctx.Attempt == 1)
                {
                    started.Set();
                    await stuck.Task;
                    return "too late";
                }

                return "in time";
            }, o =>
            {
                o.Timeout = timeout;
                o.Retry = new RetryPolicy { BaseDelay = TimeSpan.FromSeconds(3), Jitter = 0 };
            }),
            workers: w => w.CancelGracePeriod = grace);
        try
        {
            await host.CreateAsync("stuck", id: "stuck", maxAttempts: 2);
            await started.WaitAsync("the handler to start");
            await host.Time.WaitForTimerAsync(timeout);
            host.Time.Advance(timeout);
            await host.Time.WaitForTimerAsync(grace);
            Assert.Equal(JobStatus.Running, (await host.ReadStoredAsync("stuck")).Status);
            host.Time.Advance(grace);

            var retry = await host.WaitForAsync("stuck", j => j is { Status: JobStatus.Queued, Attempt: 2 }, "queued for attempt 2");
            Assert.Equal("timeout", retry.Error!.Code);
            Assert.Contains("5 s timeout", retry.Error.Message, StringComparison.Ordinal);
            Assert.Contains("abandoned", retry.Error.Message, StringComparison.Ordinal);
            Assert.Equal(host.Time.GetUtcNow().AddSeconds(3), retry.RunAt);
            Assert.Null(retry.Result);

            await host.Time.WaitForTimerDueAtAsync(retry.RunAt);
            host.Time.Advance(TimeSpan.FromSeconds(3));
            var done = await host.WaitForStatusAsync("stuck", JobStatus.Completed);
            Assert.Equal((2, "in time"), (done.Attempt, done.Result!.Value.GetString()));
        }
        finally
        {
            stuck.Set();
        }

        // The abandoned attempt's late return changes nothing.
        await host.CreateAsync("stuck", id: "fence", maxAttempts: 2);
        await host.WaitForStatusAsync("fence", JobStatus.Completed);
        Assert.Equal("in time", (await host.ReadStoredAsync("stuck")).Result!.Value.GetString());
    }

    [Fact]
    public async Task An_attempt_that_ignores_its_timeout_on_the_last_attempt_fails_with_timeout()
    {
        var stuck = new Signal();
        var started = new Signal();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("stuck", async (_, _) =>
            {
                started.Set();
                await stuck.Task;
            }, o => o.Timeout = TimeSpan.FromSeconds(5)),
            workers: w => w.CancelGracePeriod = TimeSpan.FromSeconds(7));
        try
        {
            await host.CreateAsync("stuck", id: "stuck", maxAttempts: 1);
            await started.WaitAsync("the handler to start");
            await host.Time.WaitForTimerAsync(TimeSpan.FromSeconds(5));
            host.Time.Advance(TimeSpan.FromSeconds(5));
            await host.Time.WaitForTimerAsync(TimeSpan.FromSeconds(7));
            host.Time.Advance(TimeSpan.FromSeconds(7));

            var failed = await host.WaitForStatusAsync("stuck", JobStatus.Failed);
            Assert.Equal((1, "timeout"), (failed.Attempt, failed.Error!.Code));
        }
        finally
        {
            stuck.Set();
        }
    }

    [Fact]
    public async Task A_result_that_cannot_be_serialised_fails_the_attempt_and_the_engine_runs_on()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b
                .AddHandler<object>("bad", (ctx, _) =>
                {
                    if (ctx.Attempt == 1)
                    {
                        var loop = new Cycle();
                        loop.Next = loop;
                        return Task.FromResult<object>(loop);
                    }

                    return Task.FromResult<object>(typeof(string));
                }, o => o.Retry = new RetryPolicy { BaseDelay = TimeSpan.FromSeconds(2), Jitter = 0 })
                .AddHandler("good", (_, _) => Task.FromResult(new { Ok = true, Answer = 42 })));

        await host.CreateAsync("bad", id: "bad", maxAttempts: 2);
        var retry = await host.WaitForAsync("bad", j => j is { Status: JobStatus.Queued, Attempt: 2 }, "queued for attempt 2");
        Assert.Equal("result_not_serializable", retry.Error!.Code);
        Assert.Equal("System.Text.Json.JsonException", retry.Error.Details!.Value.GetProperty("exception_type").GetString());
        Assert.Null(retry.Result);

        await host.CreateAsync("good", id: "good");
        var good = await host.WaitForStatusAsync("good", JobStatus.Completed);
        Assert.True(good.Result!.Value.GetProperty("ok").GetBoolean());
        Assert.Equal(42, good.Result!.Value.GetProperty("answer").GetInt32());

        await host.Time.WaitForTimerDueAtAsync(retry.RunAt);
        host.Time.Advance(TimeSpan.FromSeconds(2));
        var failed = await host.WaitForStatusAsync("bad", JobStatus.Failed);
        Assert.Equal((2, "result_not_serializable"), (failed.Attempt, failed.Error!.Code));
        Assert.Equal("System.NotSupportedException", failed.Error.Details!.Value.GetProperty("exception_type").GetString());
        Assert.Null(failed.Result);

        await host.CreateAsync("good", id: "good-after");
        await host.WaitForStatusAsync("good-after", JobStatus.Completed);
    }
}
