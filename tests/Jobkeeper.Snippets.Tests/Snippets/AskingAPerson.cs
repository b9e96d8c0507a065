// tests/Jobkeeper.Snippets.Tests/Snippets/AskingAPerson.cs
using Jobkeeper.Hosting;
using Jobkeeper.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Snippets;

public static class AskingAPerson
{
    public static JobkeeperBuilder AddReview(this JobkeeperBuilder jobs) => jobs
        .AddHandler("audio.review", async (JobContext ctx, CancellationToken ct) =>
        {
            var bpm = ctx.Checkpoint.Get<int?>() ?? await Tempo.DetectAsync("a.wav", ct);   // expensive: done once
            await ctx.Checkpoint.SaveAsync(bpm, ct);
            var ok = await ctx.AskAsync<string>("tempo", $"Is {bpm} bpm right?", options: ["yes", "no"], expiresIn: TimeSpan.FromHours(4), cancellationToken: ct);
            return new { bpm, ok };
        });
}
