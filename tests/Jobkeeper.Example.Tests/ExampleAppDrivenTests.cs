using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Jobkeeper.Model;
using static Jobkeeper.Example.Tests.JobPolling;

namespace Jobkeeper.Example.Tests;

/// <summary>
/// Jobs the example app drives itself (<c>POST /exports</c>: created, set running and updated from its own code, no
/// handler), through a crash (SIGKILL) and a graceful stop (SIGTERM) of the real process: while the app lives its
/// exports stay running past their lease; after a kill they are recovered once the lease runs out, never left running.
/// </summary>
public sealed class ExampleAppDrivenTests : IDisposable
{
    private const string ExportType = "report.export";
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);
    private readonly string _tempDir = Directory.CreateTempSubdirectory("jobkeeper-example-driven-").FullName;

    private ExampleAppSettings Settings => new(Path.Combine(_tempDir, "example.db"))
    {
        // Ten steps of 600 ms: an export runs three leases long.
        StepDelayMs = 600,
        AppLeaseDuration = Lease,
        ReapInterval = TimeSpan.FromMilliseconds(200),
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(_tempDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task<string> StartExportAsync(ExampleAppProcess app)
    {
        using var response = await app.Http.PostAsync("/exports", null);
        var body = await response.Content.ReadFromJsonAsync<JsonNode>();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST /exports: {(int)response.StatusCode} {body?.ToJsonString()}");
        Assert.Equal("running", (string?)body?["status"]);
        return (string)body!["job_id"]!;
    }

    [Fact]
    public async Task After_a_kill_9_the_jobs_the_app_drove_are_recovered_after_their_lease_and_none_stays_running()
    {
        var settings = Settings;
        var ids = new List<string>();
        var lastSeenFraction = new Dictionary<string, double>(StringComparer.Ordinal);
        DateTimeOffset killedAt;
        await using (var first = await ExampleAppProcess.StartAsync(settings))
        {
            for (var i = 0; i < 3; i++)
            {
                ids.Add(await StartExportAsync(first));
            }

            // While the app lives, its exports run on past one lease: it keeps them alive.
            foreach (var id in ids)
            {
                var job = await UntilAsync(first, $"/api/v1/jobs/{id}", j => Status(j) != "running" || RunningFor(j) > Lease * 1.5, TimeSpan.FromSeconds(30));
                Assert.True(Status(job) == "running", $"Export {id} stopped running while the app lived: {job.ToJsonString()}");
                Assert.StartsWith(Environment.MachineName, (string)job["lease_owner"]!, StringComparison.Ordinal);
                Assert.True(DateTimeOffset.Parse((string)job["lease_expires_at"]!) > DateTimeOffset.UtcNow, job.ToJsonString());
                lastSeenFraction[id] = Fraction(job) ?? 0;
            }

            await first.KillAsync();
            killedAt = DateTimeOffset.UtcNow;
        }

        // What the kill left: running jobs whose leases end within a lease of the kill, every acknowledged update kept.
        await using (var store = await ExampleStore.OpenAsync(settings.DbPath))
        {
            var atKill = await store.JobsAsync(ExportType);
            Assert.Equal(ids.Order(), atKill.Keys.Order());
            Assert.All(atKill.Values, j =>
            {
                Assert.Equal(JobStatus.Running, j.Status);
                Assert.True(j.LeaseExpiresAt <= killedAt + Lease, $"Export {j.Id} holds a lease until {j.LeaseExpiresAt:O}, beyond {killedAt + Lease:O}");
                Assert.True(j.Progress?.Fraction >= lastSeenFraction[j.Id], $"Export {j.Id} lost acknowledged progress: {j.Progress?.Fraction}");
            });
        }

        // The next run of the app recovers them: nothing runs report.export, so each fails with no_runner after its lease.
        await using var second = await ExampleAppProcess.StartAsync(settings);
        foreach (var id in ids)
        {
            var job = await UntilAsync(second, $"/api/v1/jobs/{id}", j => Status(j) != "running", TimeSpan.FromSeconds(30));
            Assert.Equal("failed", Status(job));
            Assert.Equal("no_runner", (string?)job["error"]?["code"]);
            Assert.Contains("report.export", (string?)job["error"]?["message"], StringComparison.Ordinal);
            var events = await ExampleApi.EventsAsync(second, $"/api/v1/jobs/{id}/events");
            var expired = Assert.Single(events, e => (string?)e?["type"] == "lease_expired")!;
            Assert.True(DateTimeOffset.Parse((string)expired["at"]!) >= killedAt, $"Export {id} expired at {expired["at"]}, before the kill at {killedAt:O}");
        }

        var running = await second.Http.GetFromJsonAsync<JsonNode>($"/api/v1/jobs?type={ExportType}&status=running");
        Assert.Empty(ExampleApi.Items(running!));
    }

    [Fact]
    public async Task A_graceful_stop_ends_the_exports_it_was_driving_as_interrupted_and_says_so()
    {
        var settings = Settings;
        string id;
        await using (var app = await ExampleAppProcess.StartAsync(settings))
        {
            id = await StartExportAsync(app);
            await UntilAsync(app, $"/api/v1/jobs/{id}", j => Fraction(j) > 0, TimeSpan.FromSeconds(30));
            await app.TerminateAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, app.ExitCode);
            Assert.Contains("0 were queued again and 1 ended", app.Output, StringComparison.Ordinal);
        }

        await using var store = await ExampleStore.OpenAsync(settings.DbPath);
        var job = (await store.JobsAsync(ExportType))[id];
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("interrupted", job.Error!.Code);
    }

    private static TimeSpan RunningFor(JsonNode job) =>
        job["started_at"] is { } started ? DateTimeOffset.UtcNow - DateTimeOffset.Parse((string)started!) : TimeSpan.Zero;
}
