// tests/Jobkeeper.Snippets.Tests/Snippets/Handlers.cs
using Jobkeeper;
using Jobkeeper.Hosting;
using Jobkeeper.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Snippets;

public static class Handlers
{
    public static JobkeeperBuilder AddJobs(IServiceCollection services) => services
        .AddJobkeeper(o =>
        {
            o.UseSqlite();                                      // Jobkeeper:Sqlite:Path
            o.Workers.MaxConcurrency = 16;                      // over all types
            o.Workers.LeaseDuration = TimeSpan.FromSeconds(30);
        })
        .AddHandler("audio.analyze", async (JobContext ctx, CancellationToken ct) =>
        {
            var input = ctx.GetInput<AnalyzeInput>()!;
            await ctx.ReportProgressAsync(0.5, stage: "tempo", message: "detecting tempo", cancellationToken: ct);
            return new { bpm = await Tempo.DetectAsync(input.Url, ct) };   // becomes the job's result
        }, o => { o.MaxConcurrency = 4; o.Timeout = TimeSpan.FromMinutes(10); })
        .AddHandler<RenderVideoHandler, RenderInput>("video.render");     // IJobHandler<RenderInput> from DI
}

public sealed record AnalyzeInput(string Url);

public sealed class RenderVideoHandler : IJobHandler<RenderInput>
{
    public async Task<object?> HandleAsync(JobContext<RenderInput> context, CancellationToken cancellationToken)
    {
        await context.ReportProgressAsync(0.5, stage: "encode", cancellationToken: cancellationToken);
        return new { url = context.Input.Url, width = context.Input.Width };
    }
}

public static class Tempo
{
    public static Task<int> DetectAsync(string url, CancellationToken cancellationToken) => Task.FromResult(url.Length > 0 ? 120 : 0);
}
