using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

/// <summary>What a job keeps when it runs again: answered questions (not asked again), its start time within an attempt; unanswered questions are asked anew.</summary>
public sealed class PromptResumeTests
{
    private static readonly DateTimeOffset Now = TestJobs.T0.AddMinutes(1);

    private static Job Claimed(Job job, string token) =>
        JobTransitions.Claim(job, "w", token, Now.AddSeconds(30), Now).Job;

    private static Job Asked(Job job, string token, string key, TimeSpan? expiresIn = null) =>
        PromptTransitions.Ask(job, token, new PromptRequest { Key = key, Question = "ok?", Options = ["yes", "no"], ExpiresIn = expiresIn }.ToPrompt(Now), Now).Job;

    [Fact]
    public void An_expired_question_of_a_retried_job_is_asked_again_and_replaces_the_old_one()
    {
        var waiting = Asked(Claimed(TestJobs.Queued(), "t1"), "t1", "tempo", TimeSpan.FromMinutes(1));
        var failed = PromptTransitions.Expire(waiting, "tempo", Now.AddMinutes(2))!.Job;
        Assert.Equal(JobStatus.Failed, failed.Status);

        var retried = JobTransitions.Retry(failed, Now.AddMinutes(3), "ann").Job;
        var again = Asked(Claimed(retried, "t2"), "t2", "tempo");

        Assert.Equal(JobStatus.Waiting, again.Status);
        var prompt = Assert.Single(again.Prompts);
        Assert.True(prompt.IsOpen);
        Assert.Null(prompt.Expired);
        Assert.Same(prompt, again.OpenPrompt);
    }

    [Fact]
    public void An_answered_question_is_not_asked_again()
    {
        var waiting = Asked(Claimed(TestJobs.Queued(), "t1"), "t1", "tempo");
        var queued = PromptTransitions.Answer(waiting, "tempo", System.Text.Json.JsonDocument.Parse("\"yes\"").RootElement, null, "ann", null, Now).Job;
        var running = Claimed(queued, "t2");

        var error = Assert.Throws<JobStateConflictException>(() => Asked(running, "t2", "tempo"));
        Assert.Contains("answered", error.Message, StringComparison.Ordinal);
        Assert.Equal(JobStatus.Running, running.Status);
    }

    [Fact]
    public void An_attempt_resumed_after_an_answer_keeps_its_start_and_a_new_attempt_starts_afresh()
    {
        var waiting = Asked(Claimed(TestJobs.Queued(), "t1"), "t1", "tempo");
        var answered = PromptTransitions.Answer(waiting, "tempo", System.Text.Json.JsonDocument.Parse("\"yes\"").RootElement, null, "ann", null, Now.AddMinutes(5)).Job;
        var resumed = JobTransitions.Claim(answered, "w", "t2", Now.AddMinutes(6), Now.AddMinutes(5)).Job;
        Assert.Equal(Now, resumed.StartedAt);

        var requeued = JobTransitions.Fail(resumed, "t2", new JobError { Message = "boom" }, TimeSpan.FromSeconds(1), Now.AddMinutes(7)).Job;
        Assert.Equal((2, (DateTimeOffset?)null), (requeued.Attempt, requeued.StartedAt));
        var second = JobTransitions.Claim(requeued, "w", "t3", Now.AddMinutes(9), Now.AddMinutes(8)).Job;
        Assert.Equal(Now.AddMinutes(8), second.StartedAt);
    }
}
