// tests/Jobkeeper.Snippets.Tests/Snippets/Embedding.cs
using Jobkeeper;
using Jobkeeper.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Snippets;

public static class Embedding
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddJobkeeper(o => o.UseSqlite());   // the file is Jobkeeper:Sqlite:Path (default data/jobkeeper.db)
        builder.Services.AddJobkeeperApi();                   // optional: problem details, the OpenAPI document, /health/live and /health/ready
        var app = builder.Build();
        app.MapJobkeeper();                                   // /api/v1/jobs..., /health (and /openapi/v1.json with AddJobkeeperApi)
        app.MapJobkeeperDashboard();                          // optional: the web dashboard at /
        return app;
    }

    // anywhere: inject JobManager
    public static async Task<Job> RenderAsync(JobManager jobs, string userName)
    {
        var job = await jobs.CreateAsync(new NewJob { Type = "video.render" }, new RenderInput("https://example.com/a.mp4", Width: 1280));
        // running under this process's lease, renewed while the process lives; recovered after it if the process dies
        await jobs.UpdateAsync(job.Id, new JobPatch { Status = JobStatus.Running });
        await jobs.UpdateAsync(job.Id, new JobPatch { Progress = new ProgressPatch { Fraction = 0.5, Stage = "encode" } });
        // who and why go into the job's history
        return await jobs.CancelAsync(job.Id, new JobActor(userName) { Reason = "customer asked to stop" });
    }
}

public sealed record RenderInput(string Url, int Width);
