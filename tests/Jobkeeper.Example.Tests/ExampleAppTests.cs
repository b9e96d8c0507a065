using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using static Jobkeeper.Example.Tests.JobPolling;

namespace Jobkeeper.Example.Tests;

/// <summary>End to end: the built example app as a real process, driven over HTTP like any client would.</summary>
public sealed class ExampleAppTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly string[] Terminal = ["completed", "failed", "cancelled"];

    private readonly string _tempDir = Directory.CreateTempSubdirectory("jobkeeper-example-tests-").FullName;

    private string DbPath => Path.Combine(_tempDir, "example.db");

    [Fact]
    public async Task Analyze_runs_in_the_background_reporting_progress_until_the_result_is_stored()
    {
        await using var app = await ExampleAppProcess.StartAsync(DbPath, stepDelayMs: 40);

        using var invalid = await app.Http.PostAsJsonAsync("/analyze", new { });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("application/problem+json", invalid.Content.Headers.ContentType?.MediaType);

        var (jobId, statusUrl, eventsUrl) = await StartAnalysisAsync(app, "song.mp3");

        var fractions = new List<double>();
        var job = await UntilAsync(app, statusUrl, j => Terminal.Contains(Status(j)), Deadline, j =>
        {
            if (Fraction(j) is { } f && (fractions.Count == 0 || fractions[^1] != f))
            {
                fractions.Add(f);
            }
        });

        Assert.True("completed" == Status(job), $"Job ended {Status(job)}: {job.ToJsonString()}{Environment.NewLine}{app.Output}");
        Assert.Equal(jobId, (string?)job["id"]);
        Assert.Equal("audio.analyze", (string?)job["type"]);
        Assert.Equal("song.mp3", (string?)job["labels"]?["file"]);
        // What polling saw never went backwards (how much it saw depends on the machine's load).
        Assert.Equal(fractions.Order(), fractions);
        Assert.Equal(1.0, Fraction(job));
        Assert.Equal("done", (string?)job["progress"]?["stage"]);
        Assert.Equal((long?)job["progress"]?["total"], (long?)job["progress"]?["current"]);

        var result = job["result"] ?? throw new Xunit.Sdk.XunitException("The completed job has no result.");
        Assert.Equal("song.mp3", (string?)result["file"]);
        Assert.InRange((int)result["tempo_bpm"]!, 40, 220);
        Assert.False(string.IsNullOrEmpty((string?)result["key"]));
        Assert.NotNull(job["started_at"]);
        Assert.NotNull(job["completed_at"]);

        var events = await EventsAsync(app, eventsUrl);
        Assert.Equal("created", (string?)events[0]?["type"]);
        Assert.Equal(["queued→running", "running→completed"], StatusChanges(events));
        var stages = events.Where(e => (string?)e?["type"] == "stage_changed").Select(e => (string?)e?["data"]?["to"]).ToList();

        // Every progress report is in the history: readings between 0 and 1, never going back.
        var reported = events
            .Where(e => (string?)e?["type"] == "updated" && e?["data"]?["progress"]?["fraction"] is not null)
            .Select(e => (double)e!["data"]!["progress"]!["fraction"]!)
            .ToList();
        Assert.Contains(reported, f => f is > 0 and < 1);
        Assert.Equal(reported.Order(), reported);
        Assert.Equal(["starting", "decode", "beats", "key", "sections", "done"], stages);
    }

    [Fact]
    public async Task A_job_running_when_the_app_is_killed_is_resumed_and_completed_by_the_next_start()
    {
        string jobId, statusUrl, eventsUrl;
        await using (var first = await ExampleAppProcess.StartAsync(DbPath, stepDelayMs: 300))
        {
            (jobId, statusUrl, eventsUrl) = await StartAnalysisAsync(first, "live-set.flac");
            await UntilAsync(first, statusUrl, j => Status(j) == "running" && Fraction(j) > 0, Deadline);
            await first.KillAsync();
        }

        await using var second = await ExampleAppProcess.StartAsync(DbPath, stepDelayMs: 5);
        var job = await UntilAsync(second, statusUrl, j => Terminal.Contains(Status(j)), Deadline);

        Assert.True("completed" == Status(job), $"Job ended {Status(job)}: {job.ToJsonString()}{Environment.NewLine}{second.Output}");
        Assert.Equal("live-set.flac", (string?)job["result"]?["file"]);
        var events = await EventsAsync(second, eventsUrl);
        Assert.Equal(["queued→running", "running→queued", "queued→running", "running→completed"], StatusChanges(events));
        Assert.Contains($"Job {jobId} was running when the app stopped", second.Output, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        // The app processes are gone by now (each test disposes its own), so nothing holds the files.
        try
        {
            Directory.Delete(_tempDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }

    private static async Task<(string JobId, string StatusUrl, string EventsUrl)> StartAnalysisAsync(ExampleAppProcess app, string file)
    {
        using var response = await app.Http.PostAsJsonAsync("/analyze", new { file, user = "tests" });
        var body = await response.Content.ReadFromJsonAsync<JsonNode>();
        Assert.True(HttpStatusCode.Accepted == response.StatusCode, $"POST /analyze: {(int)response.StatusCode} {body?.ToJsonString()}");

        var jobId = (string?)body?["job_id"];
        var statusUrl = (string?)body?["status_url"];
        var eventsUrl = (string?)body?["events_url"];
        Assert.False(string.IsNullOrEmpty(jobId));
        Assert.Equal($"/api/v1/jobs/{jobId}", statusUrl);
        Assert.Equal($"/api/v1/jobs/{jobId}/events", eventsUrl);
        Assert.Equal(statusUrl, response.Headers.Location?.OriginalString);
        Assert.Equal("queued", (string?)body?["status"]);
        return (jobId!, statusUrl!, eventsUrl!);
    }

    private static async Task<JsonArray> EventsAsync(ExampleAppProcess app, string eventsUrl)
    {
        var page = await app.Http.GetFromJsonAsync<JsonNode>(eventsUrl);
        return page?["items"]?.AsArray() ?? throw new Xunit.Sdk.XunitException($"GET {eventsUrl} returned no items.");
    }

    private static List<string> StatusChanges(JsonArray events) =>
        events.Where(e => (string?)e?["type"] == "status_changed")
            .Select(e => $"{(string?)e?["data"]?["from"]}→{(string?)e?["data"]?["to"]}")
            .ToList();
}
