using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using static Jobkeeper.Example.Tests.ExampleApi;
using static Jobkeeper.Example.Tests.JobPolling;

namespace Jobkeeper.Example.Tests;

/// <summary>End to end: the built example app as a real process, driven over HTTP like any client would.</summary>
public sealed class ExampleAppTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

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
    public async Task A_corrupt_file_fails_for_good_with_the_decode_error_and_no_retry()
    {
        await using var app = await ExampleAppProcess.StartAsync(DbPath, stepDelayMs: 5);
        var (_, statusUrl, eventsUrl) = await StartAnalysisAsync(app, "corrupt-take.wav");

        var job = await UntilAsync(app, statusUrl, j => Terminal.Contains(Status(j)), Deadline);

        Assert.True("failed" == Status(job), $"Job ended {Status(job)}: {job.ToJsonString()}{Environment.NewLine}{app.Output}");
        Assert.Equal("decode_error", (string?)job["error"]?["code"]);
        Assert.Contains("corrupt-take.wav", (string?)job["error"]?["message"], StringComparison.Ordinal);
        Assert.Equal(1, (int?)job["attempt"]);
        Assert.Equal(["queued→running", "running→failed"], StatusChanges(await EventsAsync(app, eventsUrl)));
    }

    [Fact]
    public async Task Cancelling_a_running_analysis_stops_its_handler_at_once_and_the_job_ends_cancelled()
    {
        // Ten steps of a second: the job would run for 10 s, as long as the cancel grace period.
        await using var app = await ExampleAppProcess.StartAsync(DbPath, stepDelayMs: 1000);
        var (jobId, statusUrl, eventsUrl) = await StartAnalysisAsync(app, "long-mix.wav");
        await UntilAsync(app, statusUrl, j => Status(j) == "running" && (string?)j["progress"]?["stage"] == "starting", Deadline);

        var clock = Stopwatch.StartNew();
        using (var cancel = await app.Http.PostAsync($"/api/v1/jobs/{jobId}/cancel", content: null))
        {
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        }

        var job = await UntilAsync(app, statusUrl, j => Terminal.Contains(Status(j)), Deadline);
        var stoppedIn = clock.Elapsed;

        Assert.True("cancelled" == Status(job), $"Job ended {Status(job)}: {job.ToJsonString()}{Environment.NewLine}{app.Output}");
        // The handler stopped on its cancellation token, not at the end of the grace period or of the work.
        Assert.True(stoppedIn < TimeSpan.FromSeconds(5), $"The job took {stoppedIn.TotalSeconds:0.0} s to end cancelled.");
        Assert.Null(job["result"]);
        Assert.True(Fraction(job) < 1, $"The analysis got to {Fraction(job)}");
        var events = await EventsAsync(app, eventsUrl);
        Assert.Equal(["queued→running", "running→cancelled"], StatusChanges(events));
        Assert.Single(events, e => (string?)e?["type"] == "cancel_requested");
    }

    [Fact]
    public async Task A_job_running_when_the_app_is_killed_is_run_again_by_the_next_start_once_its_lease_expires()
    {
        var lease = TimeSpan.FromSeconds(2);
        var settings = new ExampleAppSettings(DbPath)
        {
            StepDelayMs = 300,
            LeaseDuration = lease,
            HeartbeatInterval = TimeSpan.FromMilliseconds(500),
            ReapInterval = TimeSpan.FromMilliseconds(200),
        };

        string jobId, statusUrl, eventsUrl;
        await using (var first = await ExampleAppProcess.StartAsync(settings))
        {
            (jobId, statusUrl, eventsUrl) = await StartAnalysisAsync(first, "live-set.flac");
            await UntilAsync(first, statusUrl, j => Status(j) == "running" && Fraction(j) > 0, Deadline);
            await first.KillAsync();
        }

        await using var second = await ExampleAppProcess.StartAsync(settings with { StepDelayMs = 5 });
        var job = await UntilAsync(second, statusUrl, j => Terminal.Contains(Status(j)), Deadline);

        Assert.True("completed" == Status(job), $"Job ended {Status(job)}: {job.ToJsonString()}{Environment.NewLine}{second.Output}");
        Assert.Equal("live-set.flac", (string?)job["result"]?["file"]);
        // The attempt cut short by the crash counts: the job completed on its second.
        Assert.Equal(2, (int?)job["attempt"]);
        var events = await EventsAsync(second, eventsUrl);
        Assert.Equal(["queued→running", "running→queued", "queued→running", "running→completed"], StatusChanges(events));
        Assert.Equal([null, "lease_expired", null, null], StatusChangeReasons(events));
        Assert.Single(events, e => (string?)e?["type"] == "lease_expired");
        Assert.Contains($"Lease of job {jobId}", second.Output, StringComparison.Ordinal);
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
}
