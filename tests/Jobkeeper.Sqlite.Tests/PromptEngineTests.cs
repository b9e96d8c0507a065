using System.Collections.Concurrent;
using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// Human in the loop through the real worker engine on a real SQLite file with a fake clock: handlers that
/// ask and resume, answers racing each other and the prompt's expiry, expiry both ways, and cancelling a
/// waiting job.
/// </summary>
public sealed class PromptEngineTests : IDisposable
{
    private static readonly JsonElement CountSchema = Json("""
        {"type":"object","properties":{"count":{"type":"integer","minimum":1},"note":{"type":"string"}},"required":["count"]}
        """);

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    public sealed record WorkDone(int Value);

    public sealed record CountAnswer(int Count, string? Note);

    public sealed record ReviewResult(int Work, string Approval, int Count, string? Note);

    public sealed record Decision(string? Answer, bool Expired, string? AnsweredBy);

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static JsonElement Text(string value) => JsonSerializer.SerializeToElement(value);

    /// <summary>Waits until both 1 s loops on the fake clock run (the lease reaper and the prompt expirer), so advancing it fires them.</summary>
    private static Task WaitForReapTimersAsync(WorkerHost host) =>
        Poll.UntilAsync(() => host.Time.Armed().Count(t => t.IsPeriodic && t.Period == WorkerHost.ReapInterval) >= 2,
            "the lease reaper and the prompt expirer timers",
            () => string.Join(", ", host.Time.Armed().Select(t => t.ToString())));

    private static IReadOnlyList<string> StatusPath(IEnumerable<JobEvent> events) =>
        events.Where(e => e.Type == JobEventTypes.StatusChanged)
            .Select(e => $"{e.Data!.Value.GetProperty("from").GetString()}>{e.Data!.Value.GetProperty("to").GetString()}")
            .ToList();

    /// <summary>A host with a "decide" handler asking one question with options yes/no; <paramref name="runs"/> counts its runs.</summary>
    private async Task<WorkerHost> StartDecideHostAsync(Counter runs, TimeSpan? expiresIn = null, string? onExpiry = null, object? defaultAnswer = null) =>
        await WorkerHost.StartAsync(_database.Path, handlers: b => b.AddHandler("decide", async (ctx, ct) =>
        {
            runs.Increment();
            var prompt = await ctx.AskAsync("approve", "Ship it?", options: ["yes", "no"], expiresIn: expiresIn, onExpiry: onExpiry,
                defaultAnswer: defaultAnswer, cancellationToken: ct);
            return new Decision(prompt.Answer?.GetString(), prompt.Expired == true, prompt.AnsweredBy);
        }));

    internal sealed class Counter
    {
        private int _value;

        public int Value => Volatile.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);
    }

    [Fact]
    public async Task A_handler_asks_two_questions_waits_without_a_worker_and_finishes_with_both_answers()
    {
        var runs = new Counter();
        var work = new Counter();
        var ran = new ConcurrentQueue<string>();
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b
                .AddHandler("review", async (ctx, ct) =>
                {
                    runs.Increment();
                    var done = ctx.Checkpoint.Get<WorkDone>();
                    if (done is null)
                    {
                        work.Increment();
                        done = new WorkDone(42);
                        await ctx.Checkpoint.SaveAsync(done, ct);
                    }

                    var approval = await ctx.AskAsync<string>("approve", $"Ship {done.Value}?", options: ["yes", "no"], cancellationToken: ct);
                    var count = await ctx.AskAsync<CountAnswer>("count", "How many copies?", schema: CountSchema, cancellationToken: ct);
                    return new ReviewResult(done.Value, approval!, count!.Count, count.Note);
                })
                .AddHandler("work", (ctx, _) =>
                {
                    ran.Enqueue(ctx.JobId);
                    return Task.CompletedTask;
                }),
            workers: w => w.MaxConcurrency = 1);

        await host.CreateAsync("review", id: "r1");
        var waiting = await host.WaitForAsync("r1", j => j.Status == JobStatus.Waiting, "waiting on 'approve'");
        Assert.Equal((1, 1), (runs.Value, work.Value));
        Assert.Equal(42, waiting.Checkpoint!.Value.GetProperty("value").GetInt32());
        Assert.Equal((1, (string?)null, (string?)null, (DateTimeOffset?)null), (waiting.Attempt, waiting.LeaseOwner, waiting.LeaseToken, waiting.LeaseExpiresAt));
        var first = waiting.OpenPrompt!;
        Assert.Equal("approve", first.Key);
        Assert.Equal("Ship 42?", first.Question);
        Assert.Equal(["yes", "no"], first.Options!);
        Assert.Null(first.Schema);
        Assert.Equal(WorkerHost.WorkerId, first.AskedBy);
        Assert.Equal(TestClock.Origin, first.AskedAt);
        Assert.Equal("approve", (await host.Manager.GetOpenPromptAsync("r1"))!.Key);

        // The waiting job holds no worker: with one slot, another job runs meanwhile.
        await host.CreateAsync("work", id: "w1");
        await host.WaitForStatusAsync("w1", JobStatus.Completed);

        // Answers that do not fit, or name another question, change nothing.
        var rejected = await Assert.ThrowsAsync<AnswerRejectedException>(() => host.Manager.AnswerAsync("r1", Text("maybe")));
        Assert.Equal("approve", rejected.Key);
        await Assert.ThrowsAsync<JobStateConflictException>(() => host.Manager.AnswerAsync("r1", Text("yes"), key: "count"));
        await Assert.ThrowsAsync<JobValidationException>(() => host.Manager.AnswerAsync("r1", Text("yes"), confidence: 1.5));
        Assert.Equal(waiting.Version, (await host.ReadStoredAsync("r1")).Version);

        var answered = await host.Manager.AnswerAsync("r1", Text("yes"), confidence: 0.9, answeredBy: "ada", reason: "looks right", key: "approve");
        Assert.Equal(JobStatus.Queued, answered.Status);
        Assert.Equal(waiting.RunAt, answered.RunAt);

        waiting = await host.WaitForAsync("r1", j => j.OpenPrompt?.Key == "count", "waiting on 'count'");
        Assert.Equal((2, 1), (runs.Value, work.Value));
        Assert.Equal(1, waiting.Attempt);
        Assert.Equal(CountSchema.GetRawText(), waiting.OpenPrompt!.Schema!.Value.GetRawText());
        Assert.Null(waiting.OpenPrompt.Options);

        await host.CreateAsync("work", id: "w2");
        await host.WaitForStatusAsync("w2", JobStatus.Completed);
        Assert.Equal(["w1", "w2"], ran);

        var schemaError = await Assert.ThrowsAsync<AnswerRejectedException>(() => host.Manager.AnswerAsync("r1", Json("""{"count":0}""")));
        Assert.Contains("count", schemaError.Why);
        await host.Manager.AnswerAsync("r1", Json("""{"count":3,"note":"rush"}"""), answeredBy: "bob");

        var completed = await host.WaitForStatusAsync("r1", JobStatus.Completed);
        Assert.Equal((3, 1), (runs.Value, work.Value));
        Assert.Equal(1, completed.Attempt);
        Assert.Null(completed.OpenPrompt);
        Assert.Null(await host.Manager.GetOpenPromptAsync("r1"));
        var result = completed.Result!.Value;
        Assert.Equal(42, result.GetProperty("work").GetInt32());
        Assert.Equal("yes", result.GetProperty("approval").GetString());
        Assert.Equal(3, result.GetProperty("count").GetInt32());
        Assert.Equal("rush", result.GetProperty("note").GetString());

        Assert.Equal(["approve", "count"], completed.Prompts.Select(p => p.Key));
        Assert.All(completed.Prompts, p => Assert.False(p.IsOpen));
        Assert.Equal(("yes", 0.9, "ada", "looks right"),
            (completed.Prompts[0].Answer!.Value.GetString(), completed.Prompts[0].Confidence, completed.Prompts[0].AnsweredBy, completed.Prompts[0].Reason));
        Assert.Equal(3, completed.Prompts[1].Answer!.Value.GetProperty("count").GetInt32());
        Assert.Equal("bob", completed.Prompts[1].AnsweredBy);
        Assert.All(completed.Prompts, p => Assert.Null(p.Expired));

        var events = await host.EventsAsync("r1");
        Assert.Equal(
            [JobEventTypes.PromptAsked, JobEventTypes.PromptAnswered, JobEventTypes.PromptAsked, JobEventTypes.PromptAnswered],
            events.Where(e => e.Type.StartsWith("prompt_", StringComparison.Ordinal)).Select(e => e.Type));
        Assert.Equal(
            ["queued>running", "running>waiting", "waiting>queued", "queued>running", "running>waiting", "waiting>queued", "queued>running", "running>completed"],
            StatusPath(events));
        Assert.Equal(["ada", "bob"], events.Where(e => e.Type == JobEventTypes.PromptAnswered).Select(e => e.Actor));
        Assert.Equal(TimeSpan.Zero, host.Time.Elapsed);
    }

    [Fact]
    public async Task Of_many_concurrent_answers_to_one_prompt_exactly_one_wins()
    {
        var runs = new Counter();
        await using var host = await StartDecideHostAsync(runs);
        await host.CreateAsync("decide", id: "d1");
        await host.WaitForStatusAsync("d1", JobStatus.Waiting);

        const int answerers = 16;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = Enumerable.Range(0, answerers).Select(i => Task.Run(async () =>
        {
            await start.Task;
            try
            {
                await host.Manager.AnswerAsync("d1", Text(i % 2 == 0 ? "yes" : "no"), answeredBy: $"person-{i}");
                return (Person: $"person-{i}", Error: (Exception?)null);
            }
            catch (Exception ex)
            {
                return (Person: $"person-{i}", Error: ex);
            }
        })).ToArray();
        start.SetResult();
        var outcomes = await Poll.Within(Task.WhenAll(attempts), "all answers to return");

        var winner = Assert.Single(outcomes, o => o.Error is null).Person;
        Assert.All(outcomes.Where(o => o.Error is not null), o => Assert.IsType<JobStateConflictException>(o.Error));

        var completed = await host.WaitForStatusAsync("d1", JobStatus.Completed);
        var prompt = Assert.Single(completed.Prompts);
        Assert.Equal(winner, prompt.AnsweredBy);
        var winningAnswer = int.Parse(winner["person-".Length..], System.Globalization.CultureInfo.InvariantCulture) % 2 == 0 ? "yes" : "no";
        Assert.Equal(winningAnswer, prompt.Answer!.Value.GetString());
        Assert.Equal(winningAnswer, completed.Result!.Value.GetProperty("answer").GetString());
        Assert.Equal(winner, completed.Result!.Value.GetProperty("answered_by").GetString());
        Assert.Equal(2, runs.Value);

        var events = await host.EventsAsync("d1");
        Assert.Equal(winner, Assert.Single(events, e => e.Type == JobEventTypes.PromptAnswered).Actor);
        Assert.Single(StatusPath(events), s => s == "waiting>queued");

        await Assert.ThrowsAsync<JobStateConflictException>(() => host.Manager.AnswerAsync("d1", Text("yes")));
    }

    [Fact]
    public async Task An_unanswered_prompt_that_says_fail_fails_the_job_when_it_expires()
    {
        var runs = new Counter();
        await using var host = await StartDecideHostAsync(runs, expiresIn: TimeSpan.FromSeconds(60));
        await host.CreateAsync("decide", id: "d1");
        var waiting = await host.WaitForStatusAsync("d1", JobStatus.Waiting);
        Assert.Equal(TestClock.Origin.AddSeconds(60), waiting.OpenPrompt!.ExpiresAt);
        Assert.Equal(PromptExpiry.Fail, waiting.OpenPrompt.OnExpiry);
        await WaitForReapTimersAsync(host);

        // Not yet: one reap interval before the expiry nothing happens.
        host.Time.Advance(TimeSpan.FromSeconds(59));
        await host.Time.WaitForPeriodicTimerAsync(WorkerHost.ReapInterval);
        Assert.Equal(JobStatus.Waiting, (await host.ReadStoredAsync("d1")).Status);

        host.Time.Advance(TimeSpan.FromSeconds(2));
        var failed = await host.WaitForStatusAsync("d1", JobStatus.Failed);

        Assert.Equal("prompt_expired", failed.Error!.Code);
        Assert.Contains("approve", failed.Error.Message);
        var prompt = Assert.Single(failed.Prompts);
        Assert.True(prompt.Expired);
        Assert.Null(prompt.Answer);
        Assert.Null(failed.OpenPrompt);
        Assert.Equal(1, runs.Value);
        Assert.Null(await host.Manager.GetOpenPromptAsync("d1"));

        var events = await host.EventsAsync("d1");
        Assert.Equal("expiry", Assert.Single(events, e => e.Type == JobEventTypes.PromptExpired).Actor);
        Assert.DoesNotContain(events, e => e.Type == JobEventTypes.PromptAnswered);
        Assert.Equal(["queued>running", "running>waiting", "waiting>failed"], StatusPath(events));

        await Assert.ThrowsAsync<JobStateConflictException>(() => host.Manager.AnswerAsync("d1", Text("yes")));
    }

    [Fact]
    public async Task An_unanswered_prompt_that_says_default_resumes_the_handler_with_the_default_answer()
    {
        var runs = new Counter();
        await using var host = await StartDecideHostAsync(runs, expiresIn: TimeSpan.FromSeconds(60), onExpiry: PromptExpiry.Default, defaultAnswer: "no");
        await host.CreateAsync("decide", id: "d1");
        var waiting = await host.WaitForStatusAsync("d1", JobStatus.Waiting);
        Assert.Equal(PromptExpiry.Default, waiting.OpenPrompt!.OnExpiry);
        Assert.Equal("no", waiting.OpenPrompt.DefaultAnswer!.Value.GetString());
        await WaitForReapTimersAsync(host);

        host.Time.Advance(TimeSpan.FromSeconds(61));
        var completed = await host.WaitForStatusAsync("d1", JobStatus.Completed);

        Assert.Equal(2, runs.Value);
        Assert.Equal(1, completed.Attempt);
        var result = completed.Result!.Value;
        Assert.Equal("no", result.GetProperty("answer").GetString());
        Assert.True(result.GetProperty("expired").GetBoolean());
        Assert.Equal("expiry", result.GetProperty("answered_by").GetString());
        var prompt = Assert.Single(completed.Prompts);
        Assert.True(prompt.Expired);
        Assert.Equal("no", prompt.Answer!.Value.GetString());

        var events = await host.EventsAsync("d1");
        Assert.Single(events, e => e.Type == JobEventTypes.PromptExpired);
        Assert.DoesNotContain(events, e => e.Type == JobEventTypes.PromptAnswered);
        Assert.Equal(["queued>running", "running>waiting", "waiting>queued", "queued>running", "running>completed"], StatusPath(events));
    }

    [Fact]
    public async Task An_answer_racing_the_expiry_and_the_expiry_never_both_win()
    {
        var runs = new Counter();
        var expiresIn = TimeSpan.FromSeconds(10);
        await using var host = await StartDecideHostAsync(runs, expiresIn: expiresIn);
        await WaitForReapTimersAsync(host);

        // Each round moves the clock to the expiry (exactly, or one microsecond past it: the store picks prompts
        // that expired strictly before now) while the answer is sent. The answer starts a little later in some
        // rounds, the clock in others (a busy spin, not a wait for anything: negative spins the clock's side), so that
        // rounds land on both sides of the expirer's write.
        int[] spins = [0, 0, 0, 1_000, -1_000, -10_000, 10_000, -100_000, -300_000, 100_000, -1_000_000, -3_000_000];
        var outcomes = new List<string>();
        for (var i = 0; i < spins.Length; i++)
        {
            var id = $"race-{i}";
            await host.CreateAsync("decide", id: id);
            var waiting = await host.WaitForStatusAsync(id, JobStatus.Waiting);
            var expiresAt = waiting.OpenPrompt!.ExpiresAt!.Value;
            await WaitForReapTimersAsync(host);

            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var spin = spins[i];
            var answer = Task.Run(async () =>
            {
                await start.Task;
                Thread.SpinWait(Math.Max(spin, 0));
                try
                {
                    await host.Manager.AnswerAsync(id, Text("yes"), answeredBy: "ada");
                    return true;
                }
                catch (JobStateConflictException)
                {
                    return false;
                }
            });
            var target = i % 3 == 0 ? expiresAt : expiresAt.AddTicks(10);
            var advance = Task.Run(async () =>
            {
                await start.Task;
                Thread.SpinWait(Math.Max(-spin, 0));
                host.Time.Advance(target - host.Time.GetUtcNow());
            });
            start.SetResult();
            await Poll.Within(advance, "the clock to move");
            var answered = await Poll.Within(answer, "the answer to return");

            var final = await host.WaitForAsync(id, j => j.Status.IsTerminal(), "finished");
            var events = await host.EventsAsync(id);
            var answeredEvents = events.Count(e => e.Type == JobEventTypes.PromptAnswered);
            var expiredEvents = events.Count(e => e.Type == JobEventTypes.PromptExpired);
            var prompt = Assert.Single(final.Prompts);
            if (answered)
            {
                Assert.Equal(JobStatus.Completed, final.Status);
                Assert.Equal((1, 0), (answeredEvents, expiredEvents));
                Assert.Equal("ada", prompt.AnsweredBy);
                Assert.Null(prompt.Expired);
                Assert.Equal("yes", final.Result!.Value.GetProperty("answer").GetString());
            }
            else
            {
                Assert.Equal(JobStatus.Failed, final.Status);
                Assert.Equal("prompt_expired", final.Error!.Code);
                Assert.Equal((0, 1), (answeredEvents, expiredEvents));
                Assert.True(prompt.Expired);
                Assert.Null(prompt.AnsweredAt);
            }

            outcomes.Add(answered ? "answered" : "expired");
        }

        Assert.Equal(spins.Length, outcomes.Count);
    }

    [Fact]
    public async Task At_exactly_its_expiry_the_expirer_decides_the_prompt()
    {
        var runs = new Counter();
        await using var host = await StartDecideHostAsync(runs, expiresIn: TimeSpan.FromSeconds(10));
        await host.CreateAsync("decide", id: "d1");
        await host.WaitForStatusAsync("d1", JobStatus.Waiting);
        await WaitForReapTimersAsync(host);

        host.Time.Advance(TimeSpan.FromSeconds(10));
        var failed = await host.WaitForStatusAsync("d1", JobStatus.Failed);
        Assert.Equal("prompt_expired", failed.Error!.Code);
    }

    [Fact]
    public async Task The_open_prompt_can_be_read_and_waiting_jobs_are_listed_with_it()
    {
        var runs = new Counter();
        await using var host = await StartDecideHostAsync(runs, expiresIn: TimeSpan.FromMinutes(5));
        await host.CreateAsync("decide", id: "d1");
        await host.CreateAsync("unhandled", id: "q1");
        await host.WaitForStatusAsync("d1", JobStatus.Waiting);

        var open = await host.Manager.GetOpenPromptAsync("d1");
        Assert.NotNull(open);
        Assert.Equal(("approve", "Ship it?"), (open.Key, open.Question));
        Assert.Equal(TestClock.Origin.AddMinutes(5), open.ExpiresAt);
        Assert.Null(await host.Manager.GetOpenPromptAsync("q1"));
        await Assert.ThrowsAsync<JobNotFoundException>(() => host.Manager.GetOpenPromptAsync("nope"));
        await Assert.ThrowsAsync<JobNotFoundException>(() => host.Manager.AnswerAsync("nope", Text("yes")));
        await Assert.ThrowsAsync<JobStateConflictException>(() => host.Manager.AnswerAsync("q1", Text("yes")));

        var page = await host.Manager.ListAsync(new JobQuery { Statuses = [JobStatus.Waiting] });
        var listed = Assert.Single(page.Items);
        Assert.Equal("d1", listed.Id);
        var prompt = Assert.Single(listed.Prompts);
        Assert.True(prompt.IsOpen);
        Assert.Equal(("approve", "Ship it?"), (prompt.Key, prompt.Question));
        Assert.Equal(["yes", "no"], prompt.Options!);
        Assert.Equal(open.ExpiresAt, prompt.ExpiresAt);
        Assert.Equal(open.Key, listed.OpenPrompt!.Key);

        var queued = await host.Manager.ListAsync(new JobQuery { Statuses = [JobStatus.Queued] });
        Assert.Equal("q1", Assert.Single(queued.Items).Id);
    }

    [Fact]
    public async Task Cancelling_a_waiting_job_cancels_it_and_a_later_answer_is_refused()
    {
        var runs = new Counter();
        await using var host = await StartDecideHostAsync(runs);
        await host.CreateAsync("decide", id: "d1");
        await host.WaitForStatusAsync("d1", JobStatus.Waiting);

        var cancelled = await host.Manager.CancelAsync("d1", actor: "ops");
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        Assert.Equal(JobStatus.Cancelled, (await host.ReadStoredAsync("d1")).Status);
        Assert.Null(await host.Manager.GetOpenPromptAsync("d1"));

        var error = await Assert.ThrowsAsync<JobStateConflictException>(() => host.Manager.AnswerAsync("d1", Text("yes"), answeredBy: "ada"));
        Assert.Contains("cancelled", error.Message);
        var stored = await host.ReadStoredAsync("d1");
        Assert.Equal(JobStatus.Cancelled, stored.Status);
        Assert.Null(Assert.Single(stored.Prompts).Answer);
        Assert.Equal(1, runs.Value);

        var events = await host.EventsAsync("d1");
        Assert.DoesNotContain(events, e => e.Type == JobEventTypes.PromptAnswered);
        Assert.Equal(["queued>running", "running>waiting", "waiting>cancelled"], StatusPath(events));
    }

    [Fact]
    public async Task A_waiting_job_survives_a_restart_and_resumes_when_answered()
    {
        var runs = new Counter();
        await using (var first = await StartDecideHostAsync(runs))
        {
            await first.CreateAsync("decide", id: "d1");
            await first.WaitForStatusAsync("d1", JobStatus.Waiting);
        }

        await using var second = await StartDecideHostAsync(runs);
        Assert.Equal("approve", (await second.Manager.GetOpenPromptAsync("d1"))!.Key);
        await second.Manager.AnswerAsync("d1", Text("no"), answeredBy: "ada");
        var completed = await second.WaitForStatusAsync("d1", JobStatus.Completed);
        Assert.Equal("no", completed.Result!.Value.GetProperty("answer").GetString());
        Assert.Equal(2, runs.Value);
    }
}
