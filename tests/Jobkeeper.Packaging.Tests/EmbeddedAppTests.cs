using System.Net.Http.Json;
using System.Text.Json;
using Jobkeeper.Packaging.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Packaging.Tests;

/// <summary>
/// A new ASP.NET Core app (<c>dotnet new web</c>, outside the repository) that takes Jobkeeper from the packed feed
/// only, embeds it with an in-process handler, and runs a job through the REST API it maps.
/// </summary>
[Collection(PackageFeedCollection.Name)]
public sealed class EmbeddedAppTests(PackageFeed feed, ITestOutputHelper output)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(1);

    private const string Program = """
        using Jobkeeper;
        using Jobkeeper.Hosting;
        using Jobkeeper.Workers;

        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddJobkeeper(o => o.UseSqlite(builder.Configuration["Db"] ?? "data/jobs.db"))
            .AddHandler("greet", async (JobContext job, CancellationToken ct) =>
            {
                await job.ReportProgressAsync(0.5, stage: "greeting", cancellationToken: ct);
                return new { greeting = $"hello {job.GetInput<string>()}" };
            });

        var app = builder.Build();
        app.MapJobkeeper();
        app.MapJobkeeperDashboard();
        app.Run();
        """;

    [Fact]
    public async Task A_new_web_app_restores_jobkeeper_from_the_feed_and_runs_a_job_with_its_handler()
    {
        var directory = Path.Combine(feed.Root, $"app-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        await Command.RunCheckedAsync("dotnet", ["new", "web", "--name", "GreetApp", "--output", directory, "--no-restore"], directory, BuildTimeout);
        feed.WriteNuGetConfig(directory);
        await Command.RunCheckedAsync("dotnet", ["add", "package", "Jobkeeper.AspNetCore", "--version", feed.Version, "--no-restore"], directory, BuildTimeout);
        await Command.RunCheckedAsync("dotnet", ["add", "package", "Jobkeeper.Sqlite", "--version", feed.Version, "--no-restore"], directory, BuildTimeout);
        await File.WriteAllTextAsync(Path.Combine(directory, "Program.cs"), Program);

        var build = await Command.RunCheckedAsync("dotnet", ["build", "-c", "Release", "-nologo", "-o", Path.Combine(directory, "out")], directory, BuildTimeout);
        output.WriteLine(build.CommandLine);

        // Every Jobkeeper package came from the feed: the restore records the source it took each one from.
        foreach (var id in new[] { "Jobkeeper.AspNetCore", "Jobkeeper.Sqlite", "Jobkeeper.Core", "Jobkeeper.Contracts", "Jobkeeper.Relational" })
        {
            var metadata = Path.Combine(directory, ".packages", id.ToLowerInvariant(), feed.Version, ".nupkg.metadata");
            Assert.True(File.Exists(metadata), $"{id} {feed.Version} was not restored into the app's packages folder");
            var source = JsonDocument.Parse(await File.ReadAllTextAsync(metadata)).RootElement.GetProperty("source").GetString();
            Assert.Equal(Path.TrimEndingDirectorySeparator(feed.Directory), Path.TrimEndingDirectorySeparator(source!));
        }

        await using var app = await ListeningProcess.StartAsync("dotnet",
            [Path.Combine(directory, "out", "GreetApp.dll"), "--urls", "http://127.0.0.1:0", "--Db", Path.Combine(directory, "jobs.db")],
            directory, StartTimeout);
        using var http = new HttpClient { BaseAddress = app.Address, Timeout = TimeSpan.FromSeconds(30) };
        var created = await http.PostAsJsonAsync("/api/v1/jobs", new { type = "greet", id = "from-the-feed", input = "feed" });
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);

        var job = await PollAsync(http, "/api/v1/jobs/from-the-feed", j => j.GetProperty("status").GetString() is "completed" or "failed");
        Assert.True(job.GetProperty("status").GetString() == "completed", $"{job}\n{app.Output}");
        Assert.Equal("hello feed", job.GetProperty("result").GetProperty("greeting").GetString());
        Assert.Equal("greeting", job.GetProperty("progress").GetProperty("stage").GetString());
        var dashboard = await http.GetStringAsync("/");
        Assert.Contains("<!doctype html>", dashboard, StringComparison.OrdinalIgnoreCase);
        output.WriteLine($"GreetApp at {app.Address}: job from-the-feed completed with {job.GetProperty("result")}");
    }

    internal static async Task<JsonElement> PollAsync(HttpClient http, string path, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var job = JsonDocument.Parse(await http.GetStringAsync(path)).RootElement;
            if (done(job) || DateTime.UtcNow > deadline)
            {
                return job;
            }

            await Task.Delay(50);
        }
    }
}
