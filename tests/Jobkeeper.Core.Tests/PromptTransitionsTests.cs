using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

public class PromptTransitionsTests
{
    private const string Worker = "worker-a";
    private const string Token = "lease-1";
    private static readonly DateTimeOffset Now = TestJobs.T0.AddMinutes(5);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    /// <summary>A job claimed by <see cref="Worker"/> at <see cref="Now"/> under <see cref="Token"/> (version 2).</summary>
    private static Job Running(int attempt = 1) =>
        JobTransitions.Claim(TestJobs.Queued() with { Attempt = attempt }, Worker, Token, Now + Lease, Now).Job;

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static JsonElement Data(JobEvent e) => e.Data ?? throw new InvalidOperationException($"Event {e.Type} has no data.");

    private static JobPrompt Prompt(string key = "approve", TimeSpan? expiresIn = null, string? onExpiry = null, JsonElement? defaultAnswer = null) =>
        new PromptRequest
        {
            Key = key,
            Question = "Ship it?",
            Options = ["yes", "no"],
            ExpiresIn = expiresIn,
            OnExpiry = onExpiry,
            DefaultAnswer = defaultAnswer,
        }.ToPrompt(Now);

    /// <summary>A job that asked <paramref name="prompt"/> at <see cref="Now"/> (version 3, waiting).</summary>
    private static Job Waiting(JobPrompt? prompt = null, int attempt = 1) => PromptTransitions.Ask(Running(attempt), Token, prompt ?? Prompt(), Now).Job;

    private static void AssertStatusEvent(JobEvent e, JobStatus from, JobStatus to, long version, string? reason = null)
    {
        Assert.Equal(JobEventTypes.StatusChanged, e.Type);
        Assert.Equal(version, e.Version);
        var data = Data(e);
        Assert.Equal(from.ToName(), data.GetProperty("from").GetString());
        Assert.Equal(to.ToName(), data.GetProperty("to").GetString());
        if (reason is not null)
        {
            Assert.Equal(reason, data.GetProperty("reason").GetString());
        }
    }

    // ---- Ask ----

    [Fact]
    public void Ask_makes_a_running_job_wait_without_a_lease_and_keeps_its_attempt()
    {
        var running = Running(attempt: 2);
        var at = Now.AddSeconds(3);
        var change = PromptTransitions.Ask(running, Token, Prompt(expiresIn: TimeSpan.FromMinutes(10)), at);
        var job = change.Job;

        Assert.Equal(JobStatus.Waiting, job.Status);
        Assert.Null(job.LeaseOwner);
        Assert.Null(job.LeaseToken);
        Assert.Null(job.LeaseExpiresAt);
        Assert.Null(job.CompletedAt);
        Assert.Equal(2, job.Attempt);
        Assert.Equal(running.RunAt, job.RunAt);
        Assert.Equal(at, job.UpdatedAt);
        Assert.Equal(running.Version + 1, job.Version);
        Assert.Equal(running.Version, change.ExpectedVersion);
        Assert.False(change.LabelsChanged);

        var prompt = Assert.Single(job.Prompts);
        Assert.Same(prompt, job.OpenPrompt);
        Assert.True(prompt.IsOpen);
        Assert.Equal("approve", prompt.Key);
        Assert.Equal(["yes", "no"], prompt.Options!);
        Assert.Equal(at, prompt.AskedAt);
        Assert.Equal(Worker, prompt.AskedBy);
        Assert.Equal(Now.AddMinutes(10), prompt.ExpiresAt);
        Assert.Equal(PromptExpiry.Fail, prompt.OnExpiry);
        Assert.Null(prompt.Answer);

        Assert.Equal([JobEventTypes.PromptAsked, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
        var asked = change.Events[0];
        Assert.Equal(job.Version, asked.Version);
        Assert.Equal(Worker, asked.Actor);
        Assert.Equal(at, asked.At);
        Assert.Equal("approve", Data(asked).GetProperty("key").GetString());
        Assert.Equal("Ship it?", Data(asked).GetProperty("question").GetString());
        AssertStatusEvent(change.Events[1], JobStatus.Running, JobStatus.Waiting, job.Version, "prompt");
        Assert.Equal(Worker, change.Events[1].Actor);
    }

    [Fact]
    public void Ask_without_expiry_has_no_expiry_action()
    {
        var prompt = Assert.Single(Waiting().Prompts);
        Assert.Null(prompt.ExpiresAt);
        Assert.Null(prompt.OnExpiry);
    }

    [Fact]
    public void Ask_refuses_a_key_asked_before_answered_or_not()
    {
        var answered = PromptTransitions.Answer(Waiting(), "approve", Json("\"yes\""), null, "ada", null, Now).Job;
        var runningAgain = JobTransitions.Claim(answered, Worker, "lease-2", Now + Lease, Now).Job;

        var error = Assert.Throws<JobStateConflictException>(() => PromptTransitions.Ask(runningAgain, "lease-2", Prompt(), Now));
        Assert.Contains("approve", error.Message);

        // A different key is fine: the job waits on it, the answered one is kept.
        var second = PromptTransitions.Ask(runningAgain, "lease-2", Prompt("details"), Now).Job;
        Assert.Equal(["approve", "details"], second.Prompts.Select(p => p.Key));
        Assert.Equal("details", second.OpenPrompt!.Key);
        Assert.False(second.Prompts[0].IsOpen);
    }

    [Fact]
    public void Ask_with_a_stale_token_is_refused()
    {
        var running = Running();
        Assert.Throws<LeaseLostException>(() => PromptTransitions.Ask(running, "lease-0", Prompt(), Now));
        Assert.Throws<LeaseLostException>(() => PromptTransitions.Ask(running with { Status = JobStatus.Queued }, Token, Prompt(), Now));
        Assert.Throws<LeaseLostException>(() => PromptTransitions.Ask(Waiting(), Token, Prompt("other"), Now));
    }

    [Fact]
    public void Ask_after_a_cancel_was_requested_cancels_the_job_instead()
    {
        var running = JobTransitions.Cancel(Running(), Now, TimeSpan.FromSeconds(10), "ops")!.Job;
        Assert.NotNull(running.CancelRequestedAt);

        var change = PromptTransitions.Ask(running, Token, Prompt(), Now.AddSeconds(1));
        var job = change.Job;

        Assert.Equal(JobStatus.Cancelled, job.Status);
        Assert.Empty(job.Prompts);
        Assert.Null(job.OpenPrompt);
        Assert.Null(job.LeaseToken);
        Assert.DoesNotContain(change.Events, e => e.Type == JobEventTypes.PromptAsked);
        AssertStatusEvent(Assert.Single(change.Events), JobStatus.Running, JobStatus.Cancelled, job.Version);
    }

    // ---- Answer ----

    [Fact]
    public void Answer_records_the_answer_and_queues_the_job_keeping_its_place()
    {
        var waiting = Waiting(attempt: 2);
        var at = Now.AddMinutes(2);
        var change = PromptTransitions.Answer(waiting, "approve", Json("\"yes\""), 0.75, "ada", "looks fine", at);
        var job = change.Job;

        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(waiting.RunAt, job.RunAt);
        Assert.Equal(2, job.Attempt);
        Assert.Null(job.OpenPrompt);
        Assert.Null(job.CompletedAt);
        Assert.Equal(at, job.UpdatedAt);
        Assert.Equal(waiting.Version + 1, job.Version);
        Assert.Equal(waiting.Version, change.ExpectedVersion);

        var prompt = Assert.Single(job.Prompts);
        Assert.False(prompt.IsOpen);
        Assert.Equal("yes", prompt.Answer!.Value.GetString());
        Assert.Equal(0.75, prompt.Confidence);
        Assert.Equal("ada", prompt.AnsweredBy);
        Assert.Equal(at, prompt.AnsweredAt);
        Assert.Equal("looks fine", prompt.Reason);
        Assert.Null(prompt.Expired);
        Assert.Equal(Now, prompt.AskedAt);

        Assert.Equal([JobEventTypes.PromptAnswered, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
        var answered = change.Events[0];
        Assert.Equal("ada", answered.Actor);
        Assert.Equal(job.Version, answered.Version);
        Assert.Equal(at, answered.At);
        Assert.Equal("approve", Data(answered).GetProperty("key").GetString());
        Assert.Equal("yes", Data(answered).GetProperty("answer").GetString());
        Assert.Equal("ada", Data(answered).GetProperty("answered_by").GetString());
        AssertStatusEvent(change.Events[1], JobStatus.Waiting, JobStatus.Queued, job.Version, "answered");
        Assert.Equal("ada", change.Events[1].Actor);
    }

    [Fact]
    public void Answer_without_a_key_answers_the_open_prompt()
    {
        var job = PromptTransitions.Answer(Waiting(), null, Json("\"no\""), null, null, null, Now).Job;
        Assert.Equal("no", job.Prompts[0].Answer!.Value.GetString());
        Assert.Null(job.Prompts[0].AnsweredBy);
    }

    [Fact]
    public void Answer_is_refused_without_an_open_prompt_or_for_another_key()
    {
        var error = Assert.Throws<JobStateConflictException>(() => PromptTransitions.Answer(Waiting(), "details", Json("\"yes\""), null, "ada", null, Now));
        Assert.Contains("approve", error.Message);
        Assert.Contains("details", error.Message);

        foreach (var job in new[] { TestJobs.Queued(), Running(), TestJobs.Queued() with { Status = JobStatus.Waiting } })
        {
            Assert.Throws<JobStateConflictException>(() => PromptTransitions.Answer(job, null, Json("\"yes\""), null, "ada", null, Now));
        }
    }

    [Fact]
    public void A_second_answer_is_refused_and_names_who_answered()
    {
        var answered = PromptTransitions.Answer(Waiting(), null, Json("\"yes\""), null, "ada", null, Now).Job;

        var error = Assert.Throws<JobStateConflictException>(() => PromptTransitions.Answer(answered, null, Json("\"no\""), null, "bob", null, Now));
        Assert.Contains("ada", error.Message);
        Assert.Throws<JobStateConflictException>(() => PromptTransitions.Answer(answered, "approve", Json("\"no\""), null, "bob", null, Now));
    }

    [Fact]
    public void OpenPromptOrThrow_returns_the_open_prompt()
    {
        var waiting = Waiting();
        Assert.Same(waiting.Prompts[0], PromptTransitions.OpenPromptOrThrow(waiting, null));
        Assert.Same(waiting.Prompts[0], PromptTransitions.OpenPromptOrThrow(waiting, "approve"));
        Assert.Throws<JobStateConflictException>(() => PromptTransitions.OpenPromptOrThrow(waiting, "Approve"));

        // A cancelled job keeps its unanswered prompt, but it is no longer open.
        var cancelled = JobTransitions.Cancel(waiting, Now, TimeSpan.FromSeconds(10), "ops")!.Job;
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        Assert.Null(cancelled.OpenPrompt);
        Assert.Throws<JobStateConflictException>(() => PromptTransitions.OpenPromptOrThrow(cancelled, null));
    }

    // ---- Expire ----

    [Fact]
    public void Expire_fails_the_job_when_the_prompt_says_fail()
    {
        var waiting = Waiting(Prompt(expiresIn: TimeSpan.FromMinutes(1)));
        var at = Now.AddMinutes(1);
        var change = PromptTransitions.Expire(waiting, "approve", at)!;
        var job = change.Job;

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("prompt_expired", job.Error!.Code);
        Assert.Contains("approve", job.Error.Message);
        Assert.Equal(at, job.CompletedAt);
        Assert.Null(job.OpenPrompt);
        Assert.Equal(waiting.Version + 1, job.Version);
        Assert.Equal(waiting.Version, change.ExpectedVersion);
        var prompt = Assert.Single(job.Prompts);
        Assert.True(prompt.Expired);
        Assert.Null(prompt.Answer);
        Assert.Null(prompt.AnsweredAt);

        Assert.Equal([JobEventTypes.PromptExpired, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
        Assert.Equal("expiry", change.Events[0].Actor);
        Assert.True(Data(change.Events[0]).GetProperty("expired").GetBoolean());
        AssertStatusEvent(change.Events[1], JobStatus.Waiting, JobStatus.Failed, job.Version, "prompt expired");
    }

    [Fact]
    public void Expire_continues_with_the_default_answer_when_the_prompt_says_default()
    {
        var waiting = Waiting(Prompt(expiresIn: TimeSpan.FromMinutes(1), onExpiry: PromptExpiry.Default, defaultAnswer: Json("\"no\"")));
        var at = Now.AddMinutes(2);
        var change = PromptTransitions.Expire(waiting, "approve", at)!;
        var job = change.Job;

        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(waiting.RunAt, job.RunAt);
        Assert.Null(job.Error);
        Assert.Null(job.OpenPrompt);
        var prompt = Assert.Single(job.Prompts);
        Assert.False(prompt.IsOpen);
        Assert.True(prompt.Expired);
        Assert.Equal("no", prompt.Answer!.Value.GetString());
        Assert.Equal("expiry", prompt.AnsweredBy);
        Assert.Equal(at, prompt.AnsweredAt);
        Assert.NotNull(prompt.Reason);

        Assert.Equal([JobEventTypes.PromptExpired, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
        Assert.Equal("no", Data(change.Events[0]).GetProperty("answer").GetString());
        AssertStatusEvent(change.Events[1], JobStatus.Waiting, JobStatus.Queued, job.Version);
    }

    [Fact]
    public void Expire_does_nothing_when_answered_not_yet_due_another_key_or_no_expiry()
    {
        var waiting = Waiting(Prompt(expiresIn: TimeSpan.FromMinutes(1)));
        var due = Now.AddMinutes(1);

        Assert.Null(PromptTransitions.Expire(waiting, "approve", due.AddTicks(-10)));
        Assert.Null(PromptTransitions.Expire(waiting, "other", due.AddMinutes(5)));

        var answered = PromptTransitions.Answer(waiting, null, Json("\"yes\""), null, "ada", null, Now).Job;
        Assert.Null(PromptTransitions.Expire(answered, "approve", due.AddMinutes(5)));

        var cancelled = JobTransitions.Cancel(waiting, Now, TimeSpan.FromSeconds(10), "ops")!.Job;
        Assert.Null(PromptTransitions.Expire(cancelled, "approve", due.AddMinutes(5)));

        Assert.Null(PromptTransitions.Expire(Waiting(), "approve", due.AddDays(400)));
    }

    [Fact]
    public void Once_expired_the_answer_is_refused_and_once_answered_expiry_is_a_no_op()
    {
        var waiting = Waiting(Prompt(expiresIn: TimeSpan.FromMinutes(1)));
        var expired = PromptTransitions.Expire(waiting, "approve", Now.AddMinutes(1))!.Job;
        Assert.Throws<JobStateConflictException>(() => PromptTransitions.Answer(expired, "approve", Json("\"yes\""), null, "ada", null, Now.AddMinutes(1)));

        var defaulted = PromptTransitions.Expire(
            Waiting(Prompt(expiresIn: TimeSpan.FromMinutes(1), onExpiry: PromptExpiry.Default, defaultAnswer: Json("\"no\""))), "approve", Now.AddMinutes(1))!.Job;
        Assert.Throws<JobStateConflictException>(() => PromptTransitions.Answer(defaulted, "approve", Json("\"yes\""), null, "ada", null, Now.AddMinutes(1)));
    }

    // ---- SaveCheckpoint ----

    [Fact]
    public void SaveCheckpoint_replaces_the_state_under_the_lease_without_events()
    {
        var running = Running();
        var change = PromptTransitions.SaveCheckpoint(running, Token, Json("""{"done":3}"""), Now.AddSeconds(1))!;
        Assert.Equal(3, change.Job.Checkpoint!.Value.GetProperty("done").GetInt32());
        Assert.Equal(running.Version + 1, change.Job.Version);
        Assert.Equal(running.Version, change.ExpectedVersion);
        Assert.Equal(Now.AddSeconds(1), change.Job.UpdatedAt);
        Assert.Equal(JobStatus.Running, change.Job.Status);
        Assert.Equal(Token, change.Job.LeaseToken);
        Assert.Empty(change.Events);

        var replaced = PromptTransitions.SaveCheckpoint(change.Job, Token, Json("""{"other":true}"""), Now)!.Job;
        Assert.False(replaced.Checkpoint!.Value.TryGetProperty("done", out _));

        var cleared = PromptTransitions.SaveCheckpoint(replaced, Token, Json("null"), Now)!.Job;
        Assert.Null(cleared.Checkpoint);
        Assert.Null(PromptTransitions.SaveCheckpoint(cleared, Token, null, Now));
        Assert.Null(PromptTransitions.SaveCheckpoint(running, Token, null, Now));
    }

    [Fact]
    public void SaveCheckpoint_with_a_stale_token_is_refused()
    {
        Assert.Throws<LeaseLostException>(() => PromptTransitions.SaveCheckpoint(Running(), "lease-0", Json("1"), Now));
        Assert.Throws<LeaseLostException>(() => PromptTransitions.SaveCheckpoint(Waiting(), Token, Json("1"), Now));
    }
}
