using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

/// <summary>A question that was never answered (expired, or the job was cancelled) is asked anew when the job is retried.</summary>
public sealed class PromptReaskTests
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
}
