using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Jobkeeper.Model;
using Xunit.Abstractions;
using static Jobkeeper.Example.Tests.ExampleApi;
using static Jobkeeper.Example.Tests.JobPolling;

namespace Jobkeeper.Example.Tests;

/// <summary>
/// The example app's jobs through a crash (SIGKILL) and a graceful stop (SIGTERM), with real processes on
/// one SQLite file. Between the runs, the file is read with the library itself, to see exactly what the
/// stopped process left behind; the app's execution log counts how often the handler ran each job.
/// </summary>
public sealed class ExampleRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _tempDir = Directory.CreateTempSubdirectory("jobkeeper-example-recovery-").FullName;

    private string DbPath => Path.Combine(_tempDir, "example.db");

    private string ExecutionLogPath => Path.Combine(_tempDir, "executions.log");

    [Fact]
    public async Task After_a_kill_9_every_job_completes_exactly_once_and_those_running_at_the_kill_come_back_when_their_lease_expires()
    {
        const int Jobs = 200;
        const int Concurrency = 8;
        const int StepDelayMs = 25;
        var lease = TimeSpan.FromSeconds(2);
        var reapInterval = TimeSpan.FromMilliseconds(200);
        var settings = new ExampleAppSettings(DbPath)
        {
            StepDelayMs = StepDelayMs,
            ExecutionLog = ExecutionLogPath,
            LeaseDuration = lease,
            HeartbeatInterval = TimeSpan.FromMilliseconds(500),
            ReapInterval = reapInterval,
            MaxConcurrency = Concurrency,
        };

        // First run: queue every job, let some finish, and kill the process while others run.
        var ids = new List<string>(Jobs);
        DateTimeOffset killing, killedAt;
        await using (var first = await ExampleAppProcess.StartAsync(settings))
        {
            for (var i = 0; i < Jobs; i++)
            {
                ids.Add((await StartAnalysisAsync(first, $"track-{i:000}.wav")).JobId);
            }

            await UntilCountsAsync(first, completed => completed >= Jobs / 5, running => running > 0, TimeSpan.FromSeconds(30));
            // The kill lands between these two readings of the clock.
            killing = DateTimeOffset.UtcNow;
            await first.KillAsync();
            killedAt = DateTimeOffset.UtcNow;
        }

        // What the kill left in the file: exactly what was committed when the process died.
        Dictionary<string, Job> atKill;
        await using (var store = await ExampleStore.OpenAsync(DbPath))
        {
            atKill = await store.JobsAsync(JobType);
        }

        Assert.Equal(ids.Order(), atKill.Keys.Order());
        var runningAtKill = atKill.Values.Where(j => j.Status == JobStatus.Running).Select(j => j.Id).ToHashSet();
        var completedAtKill = atKill.Values.Count(j => j.Status == JobStatus.Completed);
        var queuedAtKill = atKill.Values.Count(j => j.Status == JobStatus.Queued);
        Assert.Equal(Jobs, completedAtKill + runningAtKill.Count + queuedAtKill);
        Assert.NotEmpty(runningAtKill);
        Assert.InRange(runningAtKill.Count, 1, Concurrency);
        Assert.All(atKill.Values.Where(j => j.Status == JobStatus.Running), j => Assert.True(j.LeaseExpiresAt <= killedAt + lease,
            $"Job {j.Id} holds a lease until {j.LeaseExpiresAt:O}, more than a lease after the kill at {killedAt:O}"));

        // How long one job takes here, from those the first run completed, to bound the recovery below.
        var jobTime = TimeSpan.FromMilliseconds(StepDelayMs * 10);
        foreach (var job in atKill.Values.Where(j => j is { Status: JobStatus.Completed, StartedAt: not null, CompletedAt: not null }))
        {
            jobTime = TimeSpan.FromTicks(Math.Max(jobTime.Ticks, (job.CompletedAt!.Value - job.StartedAt!.Value).Ticks));
        }

        // Second run on the same file: it must finish everything.
        await using var second = await ExampleAppProcess.StartAsync(settings);
        var listeningAt = DateTimeOffset.UtcNow;
        var recovery = Stopwatch.StartNew();
        await UntilAsync(second, ListUrl("queued,running", limit: 1), page => Items(page).Count == 0, TimeSpan.FromSeconds(60));
        recovery.Stop();

        var final = (await ListAsync(second)).ToDictionary(j => (string)j!["id"]!, j => j!, StringComparer.Ordinal);
        Assert.Equal(ids.Order(), final.Keys.Order());

        var slack = TimeSpan.FromSeconds(2);
        var reapedBy = (listeningAt > killedAt + lease ? listeningAt : killedAt + lease) + reapInterval + slack;
        var backlogRounds = (int)Math.Ceiling((double)(queuedAtKill + runningAtKill.Count) / Concurrency) + 1;
        var completedBy = listeningAt + lease + reapInterval + (backlogRounds * jobTime * 3) + slack;
        var latestCrashedCompletion = TimeSpan.Zero;
        var expiryDelays = new List<TimeSpan>();
        foreach (var id in ids)
        {
            var job = final[id];
            var events = await EventsAsync(second, $"/api/v1/jobs/{id}/events");
            var terminalChanges = events.Count(e => (string?)e?["type"] == "status_changed" && Terminal.Contains((string?)e?["data"]?["to"]));
            Assert.True(Status(job) == "completed" && terminalChanges == 1,
                $"Job {id} is {Status(job)} after {terminalChanges} terminal changes: {string.Join(", ", StatusChanges(events))}");
            var leaseExpiries = events.Where(e => (string?)e?["type"] == "lease_expired").ToList();

            if (runningAtKill.Contains(id))
            {
                // Back through the reaper once, then run again to completion as its second attempt.
                var expired = Assert.Single(leaseExpiries)!;
                Assert.Equal(["queued→running", "running→queued", "queued→running", "running→completed"], StatusChanges(events));
                Assert.Equal("lease_expired", StatusChangeReasons(events)[1]);
                Assert.Equal(2, (int?)job["attempt"]);
                var expiredAt = At(expired);
                expiryDelays.Add(expiredAt - killedAt);
                // The expired lease was the first process's, on attempt 1; the reaper requeued the job, another worker completed it.
                Assert.Equal(1, (int?)expired["data"]?["attempt"]);
                var changes = events.Where(e => (string?)e?["type"] == "status_changed").ToList();
                Assert.Equal("reaper", (string?)changes[1]?["actor"]);
                Assert.Equal((string?)changes[0]?["data"]?["worker"], (string?)expired["data"]?["worker"]);
                Assert.NotEqual((string?)changes[0]?["data"]?["worker"], (string?)changes[3]?["data"]?["worker"]);
                Assert.True(expiredAt >= killing && expiredAt <= reapedBy,
                    $"Job {id}: lease expiry recorded at {expiredAt:O}; killed at {killedAt:O}, restarted by {listeningAt:O}, expected by {reapedBy:O}");
                var completedAt = DateTimeOffset.Parse((string)job["completed_at"]!, CultureInfo.InvariantCulture);
                Assert.True(completedAt <= completedBy,
                    $"Job {id} completed at {completedAt:O}, later than {completedBy:O} (restart {listeningAt:O}, job time {jobTime.TotalMilliseconds} ms)");
                latestCrashedCompletion = completedAt - listeningAt > latestCrashedCompletion ? completedAt - listeningAt : latestCrashedCompletion;
            }
            else
            {
                Assert.Empty(leaseExpiries);
                Assert.Equal(["queued→running", "running→completed"], StatusChanges(events));
                Assert.Equal(1, (int?)job["attempt"]);
            }
        }

        // Executions: once per job, plus at most once more for each job the crash interrupted.
        var executions = ReadExecutionLog();
        var extra = executions.Count - Jobs;
        output.WriteLine($"jobs {Jobs}, concurrency {Concurrency}, lease {lease.TotalSeconds} s, reap every {reapInterval.TotalMilliseconds} ms, " +
            $"longest job in the first run {jobTime.TotalMilliseconds:0} ms");
        output.WriteLine($"at the kill: {completedAtKill} completed, {runningAtKill.Count} running, {queuedAtKill} queued");
        output.WriteLine($"restart listening {(listeningAt - killedAt).TotalSeconds:0.0} s after the kill; leases of the jobs running at the kill " +
            $"expired and were reaped {expiryDelays.Min().TotalSeconds:0.0}–{expiryDelays.Max().TotalSeconds:0.0} s after the kill (bound {(reapedBy - killedAt).TotalSeconds:0.0} s)");
        output.WriteLine($"after the restart: all {Jobs} completed in {recovery.Elapsed.TotalSeconds:0.0} s; " +
            $"the last job running at the kill completed {latestCrashedCompletion.TotalSeconds:0.0} s after the restart (bound {(completedBy - listeningAt).TotalSeconds:0.0} s)");
        output.WriteLine($"handler executions: {executions.Count}, beyond one per job: {extra} (at most {runningAtKill.Count}, the jobs running at the kill)");

        Assert.True(extra >= 0 && extra <= runningAtKill.Count,
            $"{executions.Count} executions for {Jobs} jobs: {extra} extra, but only {runningAtKill.Count} jobs were running at the kill");
        var byJob = executions.GroupBy(e => e.JobId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(e => e.Attempt).ToList(), StringComparer.Ordinal);
        Assert.Equal(ids.Order(), byJob.Keys.Order());
        foreach (var (id, attempts) in byJob)
        {
            if (runningAtKill.Contains(id))
            {
                // Attempt 1 may have been claimed but not started when the process died.
                Assert.True(attempts.SequenceEqual([1, 2]) || attempts.SequenceEqual([2]), $"Job {id} ran as attempts {string.Join(", ", attempts)}");
            }
            else
            {
                Assert.True(attempts.SequenceEqual([1]), $"Job {id} ran as attempts {string.Join(", ", attempts)}");
            }
        }
    }

    [Fact]
    public async Task On_SIGTERM_jobs_still_running_after_the_grace_period_are_released_and_the_next_start_runs_them_without_waiting_for_a_lease()
    {
        const int Concurrency = 2;
        var lease = TimeSpan.FromSeconds(30);
        var settings = new ExampleAppSettings(DbPath)
        {
            // Ten steps: each job takes 3 s, far longer than the grace period.
            StepDelayMs = 300,
            ExecutionLog = ExecutionLogPath,
            LeaseDuration = lease,
            ReapInterval = TimeSpan.FromMilliseconds(200),
            MaxConcurrency = Concurrency,
            ShutdownGracePeriod = TimeSpan.FromMilliseconds(300),
        };

        var ids = new List<string>();
        TimeSpan stopping;
        await using (var first = await ExampleAppProcess.StartAsync(settings))
        {
            for (var i = 0; i < Concurrency + 1; i++)
            {
                ids.Add((await StartAnalysisAsync(first, $"session-{i}.wav")).JobId);
            }

            await UntilAsync(first, ListUrl("running"),
                page => Items(page).Count == Concurrency && Items(page).All(j => Fraction(j!) > 0), TimeSpan.FromSeconds(30));
            stopping = await first.TerminateAsync(TimeSpan.FromSeconds(20));
            Assert.True(first.ExitCode == 0, $"Exit code {first.ExitCode} after SIGTERM.{Environment.NewLine}{first.Output}");
            output.WriteLine($"SIGTERM to exit: {stopping.TotalMilliseconds:0} ms");
        }

        // What the stop left in the file: nothing running; the interrupted jobs released, the attempt not counted.
        List<string> released;
        await using (var store = await ExampleStore.OpenAsync(DbPath))
        {
            var jobs = await store.JobsAsync(JobType);
            Assert.Equal(ids.Order(), jobs.Keys.Order());
            Assert.All(jobs.Values, j => Assert.True(j is { Status: JobStatus.Queued, Attempt: 1, LeaseOwner: null, LeaseExpiresAt: null },
                $"Job {j.Id} is {j.Status.ToName()}, attempt {j.Attempt}, lease owner {j.LeaseOwner ?? "none"} after the stop"));

            released = [];
            foreach (var id in ids)
            {
                var types = (await store.EventsAsync(id)).Select(e => e.Type).ToList();
                if (types.Contains(JobEventTypes.Released))
                {
                    released.Add(id);
                    Assert.DoesNotContain(JobEventTypes.LeaseExpired, types);
                }
                else
                {
                    Assert.Equal([JobEventTypes.Created], types);
                }
            }
        }

        Assert.Equal(Concurrency, released.Count);
        Assert.Equal(released.Order(), ReadExecutionLog().Select(e => e.JobId).Order());

        // The next start takes them at once: far sooner than the 30 s lease they held.
        var fast = settings with { StepDelayMs = 20 };
        await using var second = await ExampleAppProcess.StartAsync(fast);
        var recovery = Stopwatch.StartNew();
        await UntilAsync(second, ListUrl("queued,running", limit: 1), page => Items(page).Count == 0, lease / 2);
        output.WriteLine($"after the restart: all {ids.Count} jobs completed in {recovery.Elapsed.TotalMilliseconds:0} ms (lease {lease.TotalSeconds} s)");

        foreach (var id in ids)
        {
            var job = await second.Http.GetFromJsonAsync<JsonNode>($"/api/v1/jobs/{id}") ?? throw new Xunit.Sdk.XunitException($"No job {id}");
            var events = await EventsAsync(second, $"/api/v1/jobs/{id}/events");
            Assert.Equal("completed", Status(job));
            Assert.Equal(1, (int?)job["attempt"]);
            Assert.DoesNotContain("lease_expired", EventTypes(events));
            if (released.Contains(id))
            {
                Assert.Equal(["queued→running", "running→queued", "queued→running", "running→completed"], StatusChanges(events));
                Assert.Equal("released", StatusChangeReasons(events)[1]);
                Assert.Single(events, e => (string?)e?["type"] == "released");
            }
            else
            {
                Assert.Equal(["queued→running", "running→completed"], StatusChanges(events));
            }
        }

        // The released jobs ran twice, both times as attempt 1; the other once.
        var executions = ReadExecutionLog();
        Assert.All(executions, e => Assert.Equal(1, e.Attempt));
        Assert.All(ids, id => Assert.Equal(released.Contains(id) ? 2 : 1, executions.Count(e => e.JobId == id)));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_tempDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }

    /// <summary>Polls the counts of completed and running analysis jobs until both conditions hold.</summary>
    private static async Task UntilCountsAsync(ExampleAppProcess app, Func<int, bool> completedOk, Func<int, bool> runningOk, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        int completed = 0, running = 0;
        while (clock.Elapsed < deadline)
        {
            completed = (await ListAsync(app, "completed")).Count;
            running = (await ListAsync(app, "running")).Count;
            if (completedOk(completed) && runningOk(running))
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"After {deadline.TotalSeconds} s: {completed} completed, {running} running.{Environment.NewLine}{app.Output}");
    }

    private List<(string JobId, int Attempt)> ReadExecutionLog()
    {
        if (!File.Exists(ExecutionLogPath))
        {
            return [];
        }

        return File.ReadAllLines(ExecutionLogPath)
            .Where(line => line.Length > 0)
            .Select(line => line.Split(' ') is [var id, var attempt] && int.TryParse(attempt, CultureInfo.InvariantCulture, out var n)
                ? (id, n)
                : throw new Xunit.Sdk.XunitException($"Not an execution log line: '{line}'"))
            .ToList();
    }

    private static DateTimeOffset At(JsonNode e) => DateTimeOffset.Parse((string)e["at"]!, CultureInfo.InvariantCulture);
}
