using System.Collections.Concurrent;
using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Jobkeeper.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// The in-process worker engine on a real SQLite file with a fake clock: running handlers, waking without
/// polling, scheduling, priority, concurrency limits, typed handlers and heartbeats.
/// </summary>
public sealed class WorkerEngineTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task A_handler_runs_a_queued_job_and_its_progress_and_result_are_stored()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path, handlers: b => b.AddHandler("echo", async (ctx, ct) =>
        {
            await ctx.ReportProgressAsync(0.5, "halfway", "working", 1, 2, ct);
            var input = ctx.GetInput<EchoInput>()!;
            return new EchoResult(input.UserName.ToUpperInvariant(), ctx.Attempt, ctx.JobId);
        }));

        await host.CreateAsync("echo", id: "e1", inputJson: """{"user_name":"ada"}""");
        var done = await host.WaitForStatusAsync("e1", JobStatus.Completed);

        var result = done.Result!.Value;
        Assert.Equal("ADA", result.GetProperty("shout").GetString());
        Assert.Equal(1, result.GetProperty("attempt").GetInt32());
        Assert.Equal("e1", result.GetProperty("job_id").GetString());
        Assert.Equal(new JobProgress { Fraction = 0.5, Stage = "halfway", Message = "working", Current = 1, Total = 2 }, done.Progress);
        Assert.Equal((1, (string?)null, (string?)null), (done.Attempt, done.LeaseOwner, done.LeaseToken));
        Assert.Null(done.Error);
        Assert.Equal(TestClock.Origin, done.StartedAt);

        var events = await host.EventsAsync("e1");
        Assert.Equal(
            [JobEventTypes.Created, JobEventTypes.StatusChanged, JobEventTypes.StageChanged, JobEventTypes.Updated, JobEventTypes.StatusChanged],
            events.Select(e => e.Type));
        Assert.Equal(WorkerHost.WorkerId, events[1].Data!.Value.GetProperty("worker").GetString());
        Assert.Equal("completed", events[^1].Data!.Value.GetProperty("to").GetString());
        Assert.Equal(TimeSpan.Zero, host.Time.Elapsed);
    }

    [Fact]
    public async Task A_new_job_wakes_the_idle_engine_at_once_without_polling()
    {
        var poll = TimeSpan.FromDays(1);
        var ran = new ConcurrentQueue<string>();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("ping", (ctx, _) =>
            {
                ran.Enqueue(ctx.JobId);
                return Task.FromResult("pong");
            }),
            workers: w => w.PollInterval = poll);

        for (var i = 0; i < 3; i++)
        {
            // Idle: the engine waits a whole poll interval, which never passes on the fake clock.
            await host.Time.WaitForTimerAsync(poll);
            await host.CreateAsync("ping", id: $"ping-{i}");
            var done = await host.WaitForStatusAsync($"ping-{i}", JobStatus.Completed);
            Assert.Equal("pong", done.Result!.Value.GetString());
        }

        Assert.Equal(["ping-0", "ping-1", "ping-2"], ran);
        Assert.Equal(TimeSpan.Zero, host.Time.Elapsed);
    }

    [Fact]
    public async Task A_scheduled_job_starts_when_the_clock_reaches_its_run_at_and_not_before()
    {
        var started = new ConcurrentDictionary<string, DateTimeOffset>();
        TestClock? clock = null;
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("tick", (ctx, _) =>
            {
                started[ctx.JobId] = clock!.GetUtcNow();
                return Task.CompletedTask;
            }),
            workers: w => w.PollInterval = TimeSpan.FromDays(1));
        clock = host.Time;
        var runAt = TestClock.Origin.AddSeconds(60);

        await host.CreateAsync("tick", id: "later", runAt: runAt);
        await host.Time.WaitForTimerDueAtAsync(runAt);
        host.Time.Advance(TimeSpan.FromSeconds(59));

        // A job due now is run at once, while the scheduled one still waits (the engine claimed at +59 s and left it).
        await host.CreateAsync("tick", id: "now");
        await host.WaitForStatusAsync("now", JobStatus.Completed);
        Assert.Equal(JobStatus.Queued, (await host.ReadStoredAsync("later")).Status);
        Assert.False(started.ContainsKey("later"));

        await host.Time.WaitForTimerDueAtAsync(runAt);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        var done = await host.WaitForStatusAsync("later", JobStatus.Completed);
        Assert.Equal(runAt, done.StartedAt);
        Assert.Equal(runAt, started["later"]);
        Assert.Equal(TimeSpan.FromSeconds(60), host.Time.Elapsed);
    }

    [Fact]
    public async Task Jobs_are_run_by_priority_then_run_at_then_id()
    {
        var worker = await OneSlotWorker.StartAsync(_database.Path);
        await using var host = worker.Host;
        var order = worker.Ran;
        try
        {
            var now = host.Time.GetUtcNow();
            await host.CreateAsync("work", id: "c-low", priority: 0, runAt: now.AddSeconds(-10));
            await host.CreateAsync("work", id: "b-mid", priority: 5);
            await host.CreateAsync("work", id: "f-low", priority: 0, runAt: now.AddSeconds(-10));
            await host.CreateAsync("work", id: "a-high", priority: 10);
            await host.CreateAsync("work", id: "e-negative", priority: -3, runAt: now.AddHours(-1));
            await host.CreateAsync("work", id: "d-mid-earlier", priority: 5, runAt: now.AddSeconds(-30));
            Assert.Empty(order);
        }
        finally
        {
            worker.Release();
        }

        await Poll.UntilAsync(() => order.Count == 6, "all six jobs to run", () => string.Join(", ", order));
        Assert.Equal(["a-high", "d-mid-earlier", "b-mid", "c-low", "f-low", "e-negative"], order);
    }

    [Fact]
    public async Task A_type_runs_no_more_jobs_at_once_than_its_own_limit()
    {
        var limited = new ConcurrencyMeter();
        var free = new ConcurrencyMeter();
        var total = new ConcurrencyMeter();
        using var limitedGate = new SemaphoreSlim(0);
        using var freeGate = new SemaphoreSlim(0);
        var limitedDone = 0;
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b
                .AddHandler("limited", async (_, ct) =>
                {
                    using (total.Enter())
                    using (limited.Enter())
                    {
                        await limitedGate.WaitAsync(ct);
                    }

                    Interlocked.Increment(ref limitedDone);
                }, o => o.MaxConcurrency = 2)
                .AddHandler("free", async (_, ct) =>
                {
                    using (total.Enter())
                    using (free.Enter())
                    {
                        await freeGate.WaitAsync(ct);
                    }
                })
                .AddHandler("probe", (_, _) => Task.CompletedTask),
            workers: w => w.MaxConcurrency = 8);

        for (var i = 0; i < 6; i++)
        {
            await host.CreateAsync("limited", id: $"limited-{i}");
        }

        for (var i = 0; i < 4; i++)
        {
            await host.CreateAsync("free", id: $"free-{i}");
        }

        await Poll.UntilAsync(() => limited.Current == 2 && free.Current == 4, "2 limited and 4 free jobs to run",
            () => $"limited {limited.Current}, free {free.Current}");
        // The engine has room overall and claims again for the probe, but takes no more of the limited type.
        await host.CreateAsync("probe", id: "probe");
        await host.WaitForStatusAsync("probe", JobStatus.Completed);
        Assert.Equal(2, limited.Current);
        var queued = await host.Manager.ListAsync(new Storage.JobQuery { Statuses = [JobStatus.Queued], Type = "limited" });
        Assert.Equal(4, queued.Items.Count);

        for (var i = 0; i < 6; i++)
        {
            var expected = Math.Min(2, 6 - i);
            await Poll.UntilAsync(() => limited.Current == expected, $"{expected} limited jobs to run", () => $"{limited.Current} running");
            limitedGate.Release();
            var done = i + 1;
            await Poll.UntilAsync(() => Volatile.Read(ref limitedDone) == done, $"{done} limited jobs done");
        }

        freeGate.Release(4);
        for (var i = 0; i < 4; i++)
        {
            await host.WaitForStatusAsync($"free-{i}", JobStatus.Completed);
        }

        for (var i = 0; i < 6; i++)
        {
            await host.WaitForStatusAsync($"limited-{i}", JobStatus.Completed);
        }

        Assert.Equal((2, 4, 6), (limited.Max, free.Max, total.Max));
    }

    [Fact]
    public async Task The_engine_runs_no_more_jobs_at_once_than_its_overall_limit()
    {
        var running = new ConcurrencyMeter();
        var types = new ConcurrentDictionary<string, int>();
        using var gate = new SemaphoreSlim(0);
        var done = 0;
        Func<Jobkeeper.Workers.JobContext, CancellationToken, Task> handler = async (ctx, ct) =>
        {
            using (running.Enter())
            {
                types.AddOrUpdate(ctx.Type, 1, (_, n) => n + 1);
                await gate.WaitAsync(ct);
            }

            Interlocked.Increment(ref done);
        };
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("a", handler).AddHandler("b", handler),
            workers: w => w.MaxConcurrency = 3);

        for (var i = 0; i < 4; i++)
        {
            await host.CreateAsync("a", id: $"a-{i}");
            await host.CreateAsync("b", id: $"b-{i}");
        }

        for (var i = 0; i < 8; i++)
        {
            var expected = Math.Min(3, 8 - i);
            await Poll.UntilAsync(() => running.Current == expected, $"{expected} jobs to run", () => $"{running.Current} running");
            gate.Release();
            var finished = i + 1;
            await Poll.UntilAsync(() => Volatile.Read(ref done) == finished, $"{finished} jobs done");
        }

        Assert.Equal(3, running.Max);
        Assert.Equal(4, types["a"]);
        Assert.Equal(4, types["b"]);
    }

    [Fact]
    public async Task A_typed_handler_gets_its_input_and_dependencies_and_input_that_does_not_fit_fails_for_good()
    {
        var log = new GreetingLog();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler<GreetingHandler, GreetingInput>("greet"),
            services: s => s.AddSingleton(log).AddScoped<Greeter>());

        await host.CreateAsync("greet", id: "ada", inputJson: """{"name":"Ada","times":2,"extra_punctuation":"!"}""");
        await host.CreateAsync("greet", id: "grace", inputJson: """{"name":"Grace","times":1}""");
        var ada = (await host.WaitForStatusAsync("ada", JobStatus.Completed)).Result!.Value;
        var grace = (await host.WaitForStatusAsync("grace", JobStatus.Completed)).Result!.Value;
        Assert.Equal("Hello, Ada! Hello, Ada!", ada.GetProperty("greeting").GetString());
        Assert.Equal(1, ada.GetProperty("attempt").GetInt32());
        Assert.Equal("Hello, Grace", grace.GetProperty("greeting").GetString());
        // A new DI scope per attempt: each got its own scoped Greeter.
        Assert.NotEqual(ada.GetProperty("greeter_instance").GetInt32(), grace.GetProperty("greeter_instance").GetInt32());
        Assert.Equal(2, log.Handlers);

        await host.CreateAsync("greet", id: "wrong-type", inputJson: """{"name":42,"times":1}""", maxAttempts: 3);
        await host.CreateAsync("greet", id: "not-an-object", inputJson: "\"hello\"", maxAttempts: 3);
        foreach (var id in new[] { "wrong-type", "not-an-object" })
        {
            var failed = await host.WaitForStatusAsync(id, JobStatus.Failed);
            Assert.Equal((1, 3, "invalid_input"), (failed.Attempt, failed.MaxAttempts, failed.Error!.Code));
            Assert.Contains(nameof(GreetingInput), failed.Error.Message, StringComparison.Ordinal);
            Assert.Equal(1, (await host.EventsAsync(id)).Count(e => e.Type == JobEventTypes.StatusChanged && e.Data!.Value.GetProperty("to").GetString() == "running"));
        }

        Assert.Equal(2, log.Handlers);

        await host.CreateAsync("greet", id: "empty", inputJson: """{"name":"","times":1}""", maxAttempts: 3);
        await host.CreateAsync("greet", id: "nobody", inputJson: """{"name":"?","times":1}""", maxAttempts: 3);
        var empty = await host.WaitForStatusAsync("empty", JobStatus.Failed);
        var nobody = await host.WaitForStatusAsync("nobody", JobStatus.Failed);
        Assert.Equal((1, "empty_name", "A name is needed."), (empty.Attempt, empty.Error!.Code, empty.Error.Message));
        Assert.Equal((1, "permanent_failure"), (nobody.Attempt, nobody.Error!.Code));
        Assert.Equal(["ada", "grace"], log.Greeted.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Heartbeats_keep_a_long_running_job_leased_while_the_clock_runs_on()
    {
        var lease = TimeSpan.FromSeconds(30);
        var beat = TimeSpan.FromSeconds(10);
        var release = new Signal();
        var started = new Signal();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("long", async (_, _) =>
            {
                started.Set();
                await release.Task;
                return "finished";
            }),
            workers: w =>
            {
                w.LeaseDuration = lease;
                w.HeartbeatInterval = beat;
            });
        await host.Time.WaitForPeriodicTimerAsync(beat);
        await host.Time.WaitForPeriodicTimerAsync(WorkerHost.ReapInterval);

        await host.CreateAsync("long", id: "marathon", maxAttempts: 1);
        try
        {
            await started.WaitAsync("the handler to start");
            for (var i = 0; i < 12; i++)
            {
                host.Time.Advance(beat);
                var expected = host.Time.GetUtcNow() + lease;
                await host.WaitForAsync("marathon", j => j.LeaseExpiresAt == expected, $"leased until +{(expected - TestClock.Origin).TotalSeconds} s");
            }
        }
        finally
        {
            release.Set();
        }

        var done = await host.WaitForStatusAsync("marathon", JobStatus.Completed);
        Assert.Equal((1, "finished"), (done.Attempt, done.Result!.Value.GetString()));
        Assert.Equal(TimeSpan.FromMinutes(2), host.Time.Elapsed);
        Assert.DoesNotContain(await host.EventsAsync("marathon"), e => e.Type == JobEventTypes.LeaseExpired);
    }

    [Fact]
    public void Handlers_with_bad_options_are_refused_when_registered()
    {
        var services = new ServiceCollection();
        var builder = services.AddJobkeeper();
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddHandler("t", (_, _) => Task.CompletedTask, o => o.MaxConcurrency = 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddHandler("t", (_, _) => Task.CompletedTask, o => o.Timeout = TimeSpan.Zero));
        Assert.Throws<ArgumentException>(() => builder.AddHandler(" ", (_, _) => Task.CompletedTask));
    }

    [Fact]
    public Task Worker_settings_at_the_limits_of_a_claim_run_jobs() =>
        AssertRefusedAtStartOrRunningAsync(maxConcurrency: JobLimits.MaxClaim, lease: WorkQueue.MaxLease);

    [Fact]
    public Task A_max_concurrency_above_the_claim_limit_is_refused_at_start_or_still_runs_jobs() =>
        AssertRefusedAtStartOrRunningAsync(maxConcurrency: JobLimits.MaxClaim + 1, lease: TimeSpan.FromSeconds(30));

    [Fact]
    public Task A_lease_longer_than_a_claim_accepts_is_refused_at_start_or_still_runs_jobs() =>
        AssertRefusedAtStartOrRunningAsync(maxConcurrency: 8, lease: TimeSpan.FromHours(2));

    private async Task AssertRefusedAtStartOrRunningAsync(int maxConcurrency, TimeSpan lease)
    {
        WorkerHost host;
        try
        {
            host = await WorkerHost.StartAsync(_database.Path,
                handlers: b => b.AddHandler("t", (_, _) => Task.FromResult("ran")),
                workers: w =>
                {
                    w.MaxConcurrency = maxConcurrency;
                    w.LeaseDuration = lease;
                });
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            return;
        }

        await using (host)
        {
            await host.CreateAsync("t", id: "runs");
            var done = await host.WaitForStatusAsync("runs", JobStatus.Completed);
            Assert.Equal("ran", done.Result!.Value.GetString());
        }
    }

    [Fact]
    public async Task Two_handlers_for_one_type_are_refused_at_start()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("dup", (_, _) => Task.CompletedTask).AddHandler("dup", (_, _) => Task.CompletedTask)));
        Assert.Contains("dup", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handlers_of_a_process_given_queues_run_their_types_in_those_queues_only()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("echo", (ctx, ct) => Task.FromResult<object?>(ctx.JobId)),
            workers: w => w.Queues = ["renders", "uploads"]);

        await host.CreateAsync("echo", id: "in-renders", queue: "renders");
        await host.CreateAsync("echo", id: "in-default");
        await host.CreateAsync("echo", id: "in-uploads", queue: "uploads");
        await host.WaitForStatusAsync("in-renders", JobStatus.Completed);
        await host.WaitForStatusAsync("in-uploads", JobStatus.Completed);

        Assert.Equal(JobStatus.Queued, (await host.ReadStoredAsync("in-default")).Status);
    }

    [Fact]
    public async Task A_due_job_its_paused_queue_holds_back_makes_the_engine_wait_for_the_poll_not_claim_over_and_over()
    {
        var poll = TimeSpan.FromSeconds(7);
        await using var host = await WorkerHost.StartAsync(_database.Path, handlers: b => b.AddHandler("t", (_, _) => Task.CompletedTask),
            workers: w => w.PollInterval = poll);
        await host.CreateAsync("unhandled", id: "makes-the-queue", queue: "renders");
        await host.Services.GetRequiredService<Jobkeeper.Queues.QueueManager>().PauseAsync("renders");
        // Moved on, so that the engine's wait after the next claim is told apart from its idle wait so far (armed earlier).
        host.Time.Advance(TimeSpan.FromSeconds(2));

        await host.CreateAsync("t", id: "held", queue: "renders");

        // The claim takes nothing and the held job's run_at has passed: waiting until it would be no wait at all.
        await host.Time.WaitForTimerDueAtAsync(host.Time.GetUtcNow() + poll);
        Assert.Equal(JobStatus.Queued, (await host.ReadStoredAsync("held")).Status);
    }
}
