using System.Globalization;
using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Jobs an application drives itself over HTTP (<c>PATCH {"status":"running"}</c>, then progress updates; no worker
/// protocol), against the real server: each gets an owner and a lease, updates renew it, and when the application
/// is killed the server recovers its jobs after the lease: queued again when a worker runs the type, otherwise failed.
/// </summary>
public sealed class AppDrivenJobTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    private const int LeaseSeconds = 2;

    private static string NewType(string what) => $"driven.{what}.{Guid.NewGuid():N}";

    private static string DriverScript => Path.Combine(ServerProcess.RepositoryRoot(), "tests", "Jobkeeper.Server.Tests", "Scripts", "app_driver.py");

    [Fact]
    public async Task Setting_a_job_running_gives_it_an_owner_and_a_lease_and_an_update_renews_it()
    {
        var id = (await Client.CreateJobAsync($$"""{"type":"{{NewType("lease")}}"}""")).Str("id");

        var before = DateTimeOffset.UtcNow;
        var running = await Client.PatchJobAsync(id, """{"status":"running"}""");
        Assert.Equal("api", running.Str("lease_owner"));
        // The default app-driven lease: 30 minutes.
        Assert.InRange(running.Time("lease_expires_at"), before.AddMinutes(29), DateTimeOffset.UtcNow.AddMinutes(31));

        var shorter = await Client.PatchJobAsync(id, """{"lease_seconds":120}""");
        Assert.InRange(shorter.Time("lease_expires_at"), before.AddSeconds(110), DateTimeOffset.UtcNow.AddSeconds(121));

        var progressed = await Client.PatchJobAsync(id, """{"progress":{"fraction":0.5}}""");
        Assert.True(progressed.Time("lease_expires_at") >= shorter.Time("lease_expires_at"), progressed.ToString());
        Assert.InRange(progressed.Time("lease_expires_at"), before.AddSeconds(110), DateTimeOffset.UtcNow.AddSeconds(121));
    }

    [Theory]
    [InlineData("""{"lease_seconds":0}""")]
    [InlineData("""{"lease_seconds":86401}""")]
    [InlineData("""{"lease_seconds":"60"}""")]
    [InlineData("""{"lease_seconds":1e12}""")]
    [InlineData("""{"status":"completed","lease_seconds":60}""")]
    public async Task A_bad_lease_seconds_is_refused_naming_the_field(string body)
    {
        var id = (await Client.CreateJobAsync($$"""{"type":"{{NewType("bad")}}"}""")).Str("id");
        await Client.PatchJobAsync(id, """{"status":"running"}""");

        await Api.ExpectProblemAsync(await Client.PatchJsonAsync(Api.JobPath(id), body), HttpStatusCode.BadRequest, "lease_seconds");
    }

    [Fact]
    public async Task Lease_seconds_on_a_job_that_is_not_running_is_a_conflict()
    {
        var id = (await Client.CreateJobAsync($$"""{"type":"{{NewType("queued")}}"}""")).Str("id");
        await Api.ExpectProblemAsync(await Client.PatchJsonAsync(Api.JobPath(id), """{"lease_seconds":60}"""), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task An_app_driven_lease_nobody_renews_fails_the_job_with_no_runner_and_is_counted_in_metrics()
    {
        var type = NewType("metrics");
        var id = (await Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");
        await Client.PatchJobAsync(id, """{"status":"running","lease_seconds":1}""");

        var job = await PollAsync(id, j => j.Str("status") != "running", TimeSpan.FromSeconds(30));

        Assert.Equal("no_runner", job.GetProperty("error").Str("code"));
        using var response = await Client.GetAsync("/metrics");
        var series = (await response.Content.ReadAsStringAsync()).Split('\n')
            .Where(l => l.StartsWith("jobkeeper_leases_expired_total{", StringComparison.Ordinal) && l.Contains($"type=\"{type}\""));
        var line = Assert.Single(series);
        Assert.Contains("outcome=\"no_runner\"", line);
        Assert.EndsWith("} 1", line);
    }

    [Fact]
    public async Task After_a_kill_9_of_the_app_driving_them_its_jobs_are_queued_again_or_failed_and_none_stays_running()
    {
        var runnable = NewType("runnable");
        var orphan = NewType("orphan");
        // A worker runs the first type (it asked for it, though nothing was due); nothing runs the second.
        Assert.Empty(await Client.ClaimAsync("http-worker", runnable));
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var type in new[] { runnable, runnable, orphan, orphan })
        {
            ids[(await Client.CreateJobAsync($$"""{"type":"{{type}}","max_attempts":3}""")).Str("id")] = type;
        }

        DateTimeOffset killedAt;
        var acked = new Dictionary<string, double>(StringComparer.Ordinal);
        await using (var app = PythonWorkerProcess.Start([Fixture.Server.BaseAddress.ToString(), LeaseSeconds.ToString(CultureInfo.InvariantCulture), .. ids.Keys],
            script: DriverScript))
        {
            // The app keeps them running for more than two leases with its updates alone.
            var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
            while (!app.Output.Contains("ack", StringComparison.Ordinal) || LastStep(app.Output) < 7)
            {
                Assert.True(DateTimeOffset.UtcNow < deadline && !app.HasExited, $"The app did not keep updating its jobs:\n{app.Output}");
                await Task.Delay(20);
            }

            foreach (var id in ids.Keys)
            {
                var job = await Client.GetJobAsync(id);
                Assert.Equal("running", job.Str("status"));
                Assert.Equal("driver-app", job.Str("lease_owner"));
            }

            await app.DisposeAsync();
            killedAt = DateTimeOffset.UtcNow;
            foreach (var line in app.Output.Split('\n').Where(l => l.StartsWith("ack ", StringComparison.Ordinal)))
            {
                var parts = line.Split(' ');
                acked[parts[1]] = double.Parse(parts[2], CultureInfo.InvariantCulture);
            }
        }

        foreach (var (id, type) in ids)
        {
            var job = await PollAsync(id, j => j.Str("status") != "running", TimeSpan.FromSeconds(30));
            // Every update the app had acknowledged is there.
            Assert.True(job.GetProperty("progress").GetProperty("fraction").GetDouble() >= acked[id], job.ToString());
            var expired = (await Client.EventsAsync(id)).Single(e => e.Str("type") == "lease_expired");
            Assert.True(expired.Time("at") >= killedAt.AddSeconds(-LeaseSeconds), $"{id} expired at {expired.Str("at")}; killed at {killedAt:O}");
            if (type == runnable)
            {
                Assert.Equal(("queued", 2), (job.Str("status"), job.GetProperty("attempt").GetInt32()));
            }
            else
            {
                Assert.Equal("failed", job.Str("status"));
                Assert.Equal("no_runner", job.GetProperty("error").Str("code"));
                Assert.Contains("driver-app", job.GetProperty("error").Str("message"), StringComparison.Ordinal);
            }
        }

        // The worker takes the requeued jobs.
        var again = await Client.ClaimAsync("http-worker", runnable, max: 10);
        Assert.Equal(2, again.Count);
    }

    private static int LastStep(string output) =>
        output.Split('\n').Where(l => l.StartsWith("ack ", StringComparison.Ordinal))
            .Select(l => (int)Math.Round(double.Parse(l.Split(' ')[2], CultureInfo.InvariantCulture) * 1000)).DefaultIfEmpty(0).Max();

    private async Task<System.Text.Json.JsonElement> PollAsync(string id, Func<System.Text.Json.JsonElement, bool> done, TimeSpan within)
    {
        var deadline = DateTimeOffset.UtcNow + within;
        while (true)
        {
            var job = await Client.GetJobAsync(id);
            if (done(job))
            {
                return job;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"Job {id} did not change within {within.TotalSeconds} s: {job}");
            await Task.Delay(50);
        }
    }
}
