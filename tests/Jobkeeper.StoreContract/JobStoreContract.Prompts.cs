using Jobkeeper.Model;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

/// <summary>What every store must do for human in the loop: keep prompts and checkpoints, find expired prompts.</summary>
public abstract partial class JobStoreContract
{
    private static JobPrompt Prompt(string key, DateTimeOffset? expiresAt = null) => new()
    {
        Key = key,
        Question = $"What about {key}?",
        Options = ["yes", "no"],
        AskedAt = T0,
        ExpiresAt = expiresAt,
        OnExpiry = expiresAt is null ? null : PromptExpiry.Fail,
    };

    [Fact]
    public async Task Prompts_and_the_checkpoint_round_trip_and_change_with_the_job()
    {
        var answered = Prompt("first") with { Answer = ParseJson("\"yes\""), Confidence = 0.5, AnsweredBy = "ann", AnsweredAt = T0.AddSeconds(5), Reason = "why not" };
        var job = New("hitl", status: JobStatus.Waiting) with
        {
            Prompts = [answered, Prompt("second", T0.AddMinutes(5))],
            Checkpoint = ParseJson("{\"bpm\":120}"),
        };
        await Seed(job);
        AssertSameJob(job, (await Store.GetAsync("hitl", CancellationToken.None))!);

        var next = job with { Status = JobStatus.Queued, Prompts = [answered], Checkpoint = null, Version = 2 };
        Assert.True(await Store.ReplaceAsync(new Storage.JobReplacement(next, 1, [], false), CancellationToken.None));
        AssertSameJob(next, (await Store.GetAsync("hitl", CancellationToken.None))!);
    }

    [Fact]
    public async Task Expired_prompts_are_found_soonest_first_and_only_for_waiting_jobs()
    {
        Job Waiting(string id, int expiresInSeconds) => New(id, status: JobStatus.Waiting) with { Prompts = [Prompt("q", T0.AddSeconds(expiresInSeconds))] };
        await Seed(Waiting("late", 20), Waiting("early", 10), Waiting("not-yet", 120),
            New("no-expiry", status: JobStatus.Waiting) with { Prompts = [Prompt("q")] },
            New("running-with-old-prompt", status: JobStatus.Running) with { Prompts = [Prompt("q", T0)] });

        var expired = await Store.GetExpiredPromptsAsync(T0.AddSeconds(60), 10, CancellationToken.None);

        Assert.Equal(["early", "late"], expired.Select(j => j.Id));
        Assert.Single(await Store.GetExpiredPromptsAsync(T0.AddSeconds(60), 1, CancellationToken.None));

        // Answered: no longer expiring.
        var early = expired[0];
        var answered = early with
        {
            Status = JobStatus.Queued,
            Prompts = [early.Prompts[0] with { Answer = ParseJson("\"no\""), AnsweredAt = T0.AddSeconds(30) }],
            Version = 2,
        };
        Assert.True(await Store.ReplaceAsync(new Storage.JobReplacement(answered, 1, [], false), CancellationToken.None));
        Assert.Equal(["late"], (await Store.GetExpiredPromptsAsync(T0.AddSeconds(60), 10, CancellationToken.None)).Select(j => j.Id));
    }
}
