using System.Net;
using System.Text.Json;
using Jobkeeper.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Snippets;

namespace Jobkeeper.Snippets.Tests;

/// <summary>The README's snippets, run as written: an embedding app on a real port, and its handlers on a real SQLite file.</summary>
public sealed class SnippetTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "jobkeeper-snippets", Guid.NewGuid().ToString("N"));

    private string Db => Path.Combine(_directory, "jobs.db");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_embedding_snippet_serves_the_api_and_its_jobs_code_runs()
    {
        await using var app = Embedding.Build(["--urls", "http://127.0.0.1:0", $"--Jobkeeper:Sqlite:Path={Db}"]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        using (var ready = await http.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var job = await Embedding.RenderAsync(app.Services.GetRequiredService<JobManager>(), "ada");
        Assert.Equal("https://example.com/a.mp4", job.Input!.Value.GetProperty("url").GetString());
        Assert.Equal(1280, job.Input.Value.GetProperty("width").GetInt32());
        Assert.Equal(0.5, job.Progress!.Fraction);
        Assert.True(job.Status == JobStatus.Cancelled || job.CancelRequestedAt is not null, $"not cancelled: {job.Status}");

        using var listed = await http.GetAsync($"/api/v1/jobs/{job.Id}");
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.True(File.Exists(Db), "the store is not at Jobkeeper:Sqlite:Path");
        await app.StopAsync();
    }

    [Fact]
    public async Task The_handler_snippets_run_their_jobs_and_a_question_waits_for_its_answer()
    {
        var builder = WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:0", $"--Jobkeeper:Sqlite:Path={Db}"]);
        Handlers.AddJobs(builder.Services).AddReview();
        await using var app = builder.Build();
        await app.StartAsync();
        var jobs = app.Services.GetRequiredService<JobManager>();

        var analyze = await jobs.CreateAsync(new NewJob { Type = "audio.analyze" }, new AnalyzeInput("https://example.com/a.wav"));
        var render = await jobs.CreateAsync(new NewJob { Type = "video.render" }, new RenderInput("https://example.com/a.mp4", 640));
        var review = await jobs.CreateAsync(new NewJob { Type = "audio.review" });

        Assert.Equal(120, (await WaitAsync(jobs, analyze.Id, JobStatus.Completed)).Result!.Value.GetProperty("bpm").GetInt32());
        Assert.Equal(640, (await WaitAsync(jobs, render.Id, JobStatus.Completed)).Result!.Value.GetProperty("width").GetInt32());

        await WaitAsync(jobs, review.Id, JobStatus.Waiting);
        using (var yes = JsonDocument.Parse("\"yes\""))
        {
            await jobs.AnswerAsync(review.Id, yes.RootElement.Clone());
        }

        var reviewed = await WaitAsync(jobs, review.Id, JobStatus.Completed);
        Assert.Equal("yes", reviewed.Result!.Value.GetProperty("ok").GetString());
        Assert.Equal(120, reviewed.Result.Value.GetProperty("bpm").GetInt32());
        await app.StopAsync();
    }

    private static async Task<Job> WaitAsync(JobManager jobs, string id, JobStatus status)
    {
        var until = DateTime.UtcNow + Deadline;
        Job? job = null;
        while (DateTime.UtcNow < until)
        {
            job = await jobs.GetAsync(id);
            if (job?.Status == status)
            {
                return job;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"job {id} is {job?.Status}, not {status}, after {Deadline.TotalSeconds} s");
    }
}
