using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Jobkeeper.Client;
using Jobkeeper.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Several real <c>jobkeeper serve</c> processes on one PostgreSQL database (a fresh one per test, dropped at the
/// end): jobs are shared and claimed once, a <c>kill -9</c>ed instance's running jobs are finished by the others
/// after their lease, a write through one instance is read at its version through any other, live events of every
/// instance reach a stream on any instance (and resume on another), and a job queued through one instance wakes a
/// claim waiting on another.
/// </summary>
public sealed class MultiInstanceTests(ITestOutputHelper output)
{
    private const string EventsPath = "/api/v1/events";
    private static readonly string[] Names = ["A", "B", "C"];
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    // A killed instance's jobs come back quickly: short leases, reaped every half second.
    private const int LeaseSeconds = 3;
    private static readonly TimeSpan ReapInterval = TimeSpan.FromMilliseconds(500);
    private static readonly Dictionary<string, string> FastRecovery = new()
    {
        ["JOBKEEPER__WORKERS__LEASEDURATION"] = "00:00:03",
        ["JOBKEEPER__WORKERS__REAPINTERVAL"] = "00:00:00.500",
    };

    [Fact]
    public async Task Three_instances_run_5000_jobs_once_each_and_finish_a_killed_instance_s_jobs_after_its_lease()
    {
        const int Total = 5000;
        const int LoopsPerInstance = 4;
        const int Concurrency = 4;
        const int Victim = 2;
        const string Type = "multi.noop";
        var recoveryLimit = TimeSpan.FromSeconds(LeaseSeconds) + ReapInterval + TimeSpan.FromSeconds(10);

        await using var cluster = await PostgresCluster.StartAsync(3, FastRecovery);
        var victim = cluster[Victim];
        var survivors = cluster.Servers.Where(s => s != victim).ToArray();
        var clock = Stopwatch.StartNew();

        // 5,000 jobs, created through all three instances at once.
        var ids = Enumerable.Range(0, Total).Select(i => $"noop-{i:D4}").ToArray();
        const int Lanes = 24;
        await Task.WhenAll(Enumerable.Range(0, Lanes).Select(async lane =>
        {
            var server = cluster[lane % 3];
            for (var i = lane; i < Total; i += Lanes)
            {
                using var response = await server.Client.PostJsonAsync(Api.Jobs,
                    $$$"""{"id":"{{{ids[i]}}}","type":"{{{Type}}}","labels":{"created_via":"{{{Names[lane % 3]}}}"}}""");
                await Api.ExpectJsonAsync(response, HttpStatusCode.Created);
            }
        }));
        var createdIn = clock.Elapsed;
        Assert.Equal(Total, await cluster.ScalarAsync("SELECT count(*) FROM jobs WHERE status = 'queued'"));

        // Worker loops through every instance. Once a third of the jobs are done, the victim's handlers stop
        // finishing: they hold their jobs (running, heartbeating) until the instance is killed under them.
        var handled = new ConcurrentQueue<Handled>();
        var held = new ConcurrentQueue<string>();
        var processed = 0;
        var holding = 0;
        var third = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Func<WorkerJob, CancellationToken, Task<object?>> Handler(int instance, string worker) => async (job, ct) =>
        {
            if (instance == Victim && Volatile.Read(ref holding) == 1)
            {
                held.Enqueue(job.Id);
                await never.Task.WaitAsync(ct);
            }

            handled.Enqueue(new Handled(instance, job.Id, worker, job.Item.Attempt));
            if (Interlocked.Increment(ref processed) == Total / 3)
            {
                Volatile.Write(ref holding, 1);
                third.TrySetResult();
            }

            return new NoopResult(Names[instance], worker);
        };

        var http = cluster.Servers.Select(s => new HttpClient(new RecordingHandler(s.Responses, new SocketsHttpHandler()))
        {
            BaseAddress = s.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        }).ToArray();
        var stops = cluster.Servers.Select(_ => new CancellationTokenSource()).ToArray();
        var loops = new List<Task>[3];
        for (var instance = 0; instance < 3; instance++)
        {
            loops[instance] = [];
            var client = new JobkeeperClient(http[instance]);
            for (var k = 0; k < LoopsPerInstance; k++)
            {
                var worker = $"{Names[instance]}-w{k}";
                loops[instance].Add(client.RunWorkerAsync([Type], Handler(instance, worker),
                    new WorkerLoopOptions { WorkerId = worker, Concurrency = Concurrency, LeaseSeconds = LeaseSeconds, WaitSeconds = 1 }, stops[instance].Token));
            }
        }

        var victimLoopsEnded = false;
        try
        {
            await third.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var thirdAt = clock.Elapsed;
            await Api.PollAsync(() => Task.FromResult(held.Count >= LoopsPerInstance * Concurrency), Wait,
                () => $"the victim holds {held.Count} jobs, expected {LoopsPerInstance * Concurrency}");
            var beforeKill = handled.ToArray();

            var killedAt = DateTimeOffset.UtcNow;
            await victim.KillAsync();
            var killedAtElapsed = clock.Elapsed;
            var inFlight = await cluster.QueryAsync("SELECT id FROM jobs WHERE status = 'running' AND lease_owner LIKE $1",
                r => r.GetString(0), Names[Victim] + "-w%");

            // The victim's loops only see errors now: stop them (a disposed client makes them give up at once).
            http[Victim].Dispose();
            await stops[Victim].CancelAsync();
            await EndQuietlyAsync(loops[Victim]);
            victimLoopsEnded = true;

            // Its running jobs are reaped once their lease expires and run again on the survivors.
            var recoveryDeadline = killedAt + recoveryLimit - DateTimeOffset.UtcNow;
            await Api.PollAsync(async () => await cluster.ScalarAsync("SELECT count(*) FROM jobs WHERE id = ANY($1) AND status = 'completed'",
                    (object)inFlight.ToArray()) == inFlight.Count,
                recoveryDeadline > TimeSpan.Zero ? recoveryDeadline : TimeSpan.Zero,
                () => $"the killed instance's {inFlight.Count} running jobs were not all completed within {recoveryLimit.TotalSeconds} s of the kill");
            var lastRecovered = await cluster.ScalarAsync("SELECT max(completed_us) FROM jobs WHERE id = ANY($1)", (object)inFlight.ToArray());
            var recovery = DateTimeOffset.UnixEpoch.AddTicks(lastRecovered * TimeSpan.TicksPerMicrosecond) - killedAt;

            await Api.PollAsync(async () => await cluster.ScalarAsync("SELECT count(*) FROM jobs WHERE status = 'completed'") == Total,
                TimeSpan.FromSeconds(90), () => "not every job completed:\n" + cluster.Output());
            var doneAt = clock.Elapsed;
            foreach (var stop in stops)
            {
                await stop.CancelAsync();
            }

            await Task.WhenAll(loops[0].Concat(loops[1])).WaitAsync(TimeSpan.FromSeconds(30));

            var byInstance = Enumerable.Range(0, 3).Select(i => beforeKill.Count(h => h.Instance == i)).ToArray();
            output.WriteLine($"created {Total} jobs in {createdIn.TotalSeconds:0.00} s; a third done at {thirdAt.TotalSeconds:0.00} s; " +
                $"killed {Names[Victim]} at {killedAtElapsed.TotalSeconds:0.00} s; all done at {doneAt.TotalSeconds:0.00} s " +
                $"({Total / (doneAt - createdIn).TotalSeconds:0} jobs/s)");
            output.WriteLine($"handled before the kill: {string.Join(", ", byInstance.Select((n, i) => $"{Names[i]} {n}"))} of {beforeKill.Length}; " +
                $"handled in all: {string.Join(", ", Enumerable.Range(0, 3).Select(i => $"{Names[i]} {handled.Count(h => h.Instance == i)}"))}");
            output.WriteLine($"{Names[Victim]} was running {inFlight.Count} jobs ({held.Count} held by its handlers) when killed; " +
                $"the last of them completed {recovery.TotalSeconds:0.000} s after the kill (limit {recoveryLimit.TotalSeconds} s: " +
                $"lease {LeaseSeconds} s + reap interval {ReapInterval.TotalSeconds} s + 10 s)");

            // Every job completed exactly once, and no other final status ever, per the database's history.
            var rows = await cluster.QueryAsync("""
                SELECT j.id, j.status, j.attempt, j.version, j.result,
                    (SELECT count(*) FROM job_events e WHERE e.job_id = j.id AND e.type = 'status_changed' AND e.data::jsonb->>'to' = 'completed'),
                    (SELECT count(*) FROM job_events e WHERE e.job_id = j.id AND e.type = 'status_changed' AND e.data::jsonb->>'to' IN ('failed', 'cancelled')),
                    (SELECT max(e.actor) FROM job_events e WHERE e.job_id = j.id AND e.type = 'status_changed' AND e.data::jsonb->>'to' = 'completed'),
                    (SELECT count(*) FROM job_events e WHERE e.job_id = j.id AND e.type = 'lease_expired')
                FROM jobs j ORDER BY j.id
                """, r => new JobRow(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt64(3), r.IsDBNull(4) ? null : r.GetString(4),
                r.GetInt64(5), r.GetInt64(6), r.IsDBNull(7) ? null : r.GetString(7), r.GetInt64(8)));
            Assert.Equal(ids, rows.Select(r => r.Id));
            var wrong = rows.Where(r => r.Status != "completed" || r.Completions != 1 || r.OtherFinals != 0 || r.Result is null).ToList();
            Assert.True(wrong.Count == 0, $"{wrong.Count} jobs did not complete exactly once: {string.Join("\n", wrong.Take(20))}");
            var results = rows.ToDictionary(r => r.Id, r => JsonSerializer.Deserialize<NoopResult>(r.Result!, SnakeCase)!);
            var mislabelled = rows.Where(r => results[r.Id].Worker != CompletedBy(r)).ToList();
            Assert.True(mislabelled.Count == 0,
                $"the result does not name the worker that completed the job: {string.Join("\n", mislabelled.Take(20).Select(r => $"{r} result {results[r.Id]}"))}");

            // Read back through the survivors: every job completed, at the database's version, with the same result.
            var readProblems = new ConcurrentQueue<string>();
            await Task.WhenAll(Enumerable.Range(0, 16).Select(async lane =>
            {
                for (var i = lane; i < rows.Count; i += 16)
                {
                    var row = rows[i];
                    var job = await survivors[i % survivors.Length].Client.GetJobAsync(row.Id);
                    if (job.Str("status") != "completed" || job.Version() != row.Version
                        || job.GetProperty("result").GetProperty("worker").GetString() != results[row.Id].Worker)
                    {
                        readProblems.Enqueue($"{row.Id} through {survivors[i % survivors.Length].BaseAddress}: {job} (database: {row})");
                    }
                }
            }));
            Assert.True(readProblems.IsEmpty, $"{readProblems.Count} jobs read back wrong: {string.Join("\n", readProblems.Take(20))}");

            // The work was spread over all three instances before the kill.
            foreach (var (count, i) in byInstance.Select((n, i) => (n, i)))
            {
                Assert.True(count >= beforeKill.Length / 10,
                    $"instance {Names[i]} handled only {count} of the {beforeKill.Length} jobs handled before the kill: {string.Join(", ", byInstance)}");
            }

            // The killed instance's running jobs: all it held among them, each expired and completed by a survivor.
            Assert.True(held.Count >= LoopsPerInstance * Concurrency);
            Assert.True(held.All(inFlight.Contains),
                $"jobs the victim's handlers held are not running under its lease in the database: {string.Join(", ", held.Except(inFlight))}");
            var byId = rows.ToDictionary(r => r.Id);
            foreach (var id in inFlight)
            {
                var row = byId[id];
                Assert.True(row.LeaseExpiries >= 1 && row.Attempt >= 2 && !CompletedBy(row).StartsWith(Names[Victim] + "-", StringComparison.Ordinal),
                    $"the killed instance's job {row} was not expired and then completed by a survivor");
            }

            // A job ran again only after its lease expired (its worker died, or was too slow to renew): never two
            // claims of one attempt. Whatever the victim's handlers finished, it completed before it died.
            var twice = handled.GroupBy(h => h.JobId).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            var twiceUnexpired = twice.Where(id => byId[id].LeaseExpiries == 0).ToList();
            Assert.True(twiceUnexpired.Count == 0, $"jobs handled twice without a lease expiry: {string.Join(", ", twiceUnexpired.Take(20).Select(id => byId[id]))}");
            Assert.DoesNotContain(handled, h => h.Instance == Victim && inFlight.Contains(h.JobId));
            var otherExpiries = rows.Where(r => r.LeaseExpiries > 0 && !inFlight.Contains(r.Id)).ToList();
            output.WriteLine($"{twice.Count} jobs handled twice; {otherExpiries.Count} leases expired besides the killed instance's " +
                $"(a survivor too slow to renew): {string.Join(", ", otherExpiries.Take(5))}");

            Assert.True(recovery <= recoveryLimit, $"the last of the killed instance's jobs completed {recovery.TotalSeconds:0.000} s after the kill");
            var errors = cluster.ServerErrors(victim);
            Assert.True(errors.Count == 0, "5xx from the surviving instances:\n" + string.Join("\n", errors.Take(20)));
        }
        finally
        {
            foreach (var stop in stops)
            {
                await stop.CancelAsync();
            }

            if (!victimLoopsEnded)
            {
                http[Victim].Dispose();
                await EndQuietlyAsync(loops[Victim]);
            }

            await EndQuietlyAsync([.. loops[0], .. loops[1]]);
            foreach (var client in http)
            {
                client.Dispose();
            }

            foreach (var stop in stops)
            {
                stop.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_write_through_one_instance_is_read_at_its_version_through_the_others_every_time()
    {
        const int Rounds = 1000;
        await using var cluster = await PostgresCluster.StartAsync(3);
        var id = (await cluster[0].Client.CreateJobAsync("""{"type":"multi.read-your-write"}""")).Str("id");
        foreach (var server in cluster.Servers)
        {
            await server.Client.GetJobAsync(id); // cached everywhere, so a stale copy would be there to serve
        }

        var stale = new List<string>();
        var clock = Stopwatch.StartNew();
        long previous = 1;
        for (var i = 0; i < Rounds; i++)
        {
            var writer = i % 3;
            using var patch = await cluster[writer].Client.PatchJsonAsync(Api.JobPath(id),
                $$$"""{"labels":{"step":"{{{i}}}"},"progress":{"current":{{{i}}},"total":{{{Rounds}}}}}""");
            var written = await Api.ExpectJsonAsync(patch, HttpStatusCode.OK);
            var version = written.Version();
            Assert.True(version == previous + 1, $"round {i}: the patch through {Names[writer]} returned version {version} after {previous}");
            previous = version;

            foreach (var reader in new[] { (writer + 1) % 3, (writer + 2) % 3 })
            {
                using var get = await cluster[reader].Client.GetAsync(Api.JobPath(id));
                var job = await Api.ExpectJsonAsync(get, HttpStatusCode.OK);
                var step = job.GetProperty("labels").GetProperty("step").GetString();
                var current = job.GetProperty("progress").GetProperty("current").GetInt64();
                if (job.Version() != version || get.ETag() != $"\"{version}\"" || step != i.ToString(CultureInfo.InvariantCulture) || current != i)
                {
                    stale.Add($"round {i}: written through {Names[writer]} at version {version}, read through {Names[reader]}: " +
                        $"version {job.Version()} (ETag {get.ETag()}), step {step}, current {current}");
                }
            }
        }

        output.WriteLine($"{Rounds} writes, each read back through the two other instances, in {clock.Elapsed.TotalSeconds:0.00} s; {stale.Count} stale reads");
        Assert.True(stale.Count == 0, $"{stale.Count} of {2 * Rounds} reads were stale; the first ones:\n{string.Join("\n", stale.Take(20))}");
        var errors = cluster.ServerErrors();
        Assert.True(errors.Count == 0, "5xx:\n" + string.Join("\n", errors));
    }

    [Fact]
    public async Task Live_events_of_writes_through_other_instances_stream_in_order_without_gaps_and_resume_on_another_instance()
    {
        await using var cluster = await PostgresCluster.StartAsync(3);
        var (a, b, c) = (cluster[0], cluster[1], cluster[2]);
        long lastRead;

        await using (var stream = SseClient.Open(a.Client, EventsPath))
        {
            await SubscribedAsync(stream, b);
            var first = stream.Messages[0].EventId;

            var jobs = await WriteThroughAsync(b, c, "multi.sse.live", 40);
            var last = await cluster.ScalarAsync("SELECT max(id) FROM job_events");
            var seen = await stream.WaitForAsync(m => m.Any(x => x.Id is not null && x.EventId >= last), Wait, $"event {last}, the last committed");

            // Everything committed since the stream began, by any instance, in id order: no gap, no duplicate.
            var committed = await cluster.QueryAsync("SELECT id FROM job_events WHERE id >= $1 ORDER BY id", r => r.GetInt64(0), first);
            Assert.DoesNotContain(seen, m => m.Event == "overflow");
            Assert.Equal(committed, seen.Select(m => m.EventId));
            await AssertSameAsHistoryAsync(a, jobs, seen);
            lastRead = seen[^1].EventId;
            output.WriteLine($"instance A streamed {seen.Count} events ({first}..{lastRead}) of {jobs.Count} jobs written through B and C");
        }

        // Disconnected from A. More happens through B and C, to new jobs and old ones alike.
        var missedJobs = await WriteThroughAsync(c, b, "multi.sse.missed", 25);
        foreach (var (id, i) in missedJobs.Take(10).Select((id, i) => (id, i)))
        {
            await (i % 2 == 0 ? b : c).Client.PatchJobAsync(id, """{"labels":{"after":"done"}}""");
        }

        var lastMissed = await cluster.ScalarAsync("SELECT max(id) FROM job_events");
        await using var resumed = SseClient.Open(c.Client, EventsPath, lastEventId: lastRead.ToString(CultureInfo.InvariantCulture));
        var replayed = await resumed.WaitForAsync(m => m.Any(x => x.Id is not null && x.EventId >= lastMissed), Wait, $"event {lastMissed}, the last committed");

        var missed = await cluster.QueryAsync("SELECT id FROM job_events WHERE id > $1 ORDER BY id", r => r.GetInt64(0), lastRead);
        Assert.DoesNotContain(replayed, m => m.Event == "overflow");
        Assert.Equal(missed, replayed.Select(m => m.EventId));
        await AssertSameAsHistoryAsync(c, missedJobs, replayed);
        output.WriteLine($"resuming on instance C after {lastRead} replayed {replayed.Count} events ({replayed[0].EventId}..{replayed[^1].EventId})");

        var errors = cluster.ServerErrors();
        Assert.True(errors.Count == 0, "5xx:\n" + string.Join("\n", errors));
    }

    [Fact]
    public async Task A_job_created_through_one_instance_wakes_a_claim_waiting_on_another()
    {
        const int WaitSeconds = 25;
        // No fallback polling within the wait: only the other instance's notice can wake the claim in time.
        var environment = new Dictionary<string, string>
        {
            ["JOBKEEPER__WORKERS__POLLINTERVAL"] = "00:05:00",
            ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
        };
        await using var cluster = await PostgresCluster.StartAsync(3, environment);

        for (var round = 0; round < 3; round++)
        {
            var (creator, waiter) = (cluster[round], cluster[(round + 1) % 3]);
            var type = $"multi.wake.{round}";
            var claimsLogged = ClaimRequestsLogged(waiter);

            var clock = Stopwatch.StartNew();
            var claim = waiter.Client.ClaimAsync($"wake-{round}", type, max: 1, waitSeconds: WaitSeconds);
            await Api.PollAsync(() =>
            {
                Assert.False(claim.IsCompleted, "the claim was answered before any job was created");
                return Task.FromResult(ClaimRequestsLogged(waiter) > claimsLogged);
            }, Wait, () => "the waiting instance did not log the claim request:\n" + waiter.Output);
            Assert.Equal(0, await cluster.ScalarAsync("SELECT count(*) FROM jobs WHERE type = $1", type));

            var id = (await creator.Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");
            var created = clock.Elapsed;
            var jobs = await claim.WaitAsync(TimeSpan.FromSeconds(WaitSeconds + 15));
            clock.Stop();

            var job = Assert.Single(jobs);
            Assert.Equal(id, job.Str("id"));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(WaitSeconds),
                $"round {round}: the claim on {Names[(round + 1) % 3]} returned after {clock.Elapsed.TotalSeconds:0.0} s, its whole wait: the job created through {Names[round]} did not wake it");
            var claimed = await creator.Client.GetJobAsync(id);
            Assert.Equal("running", claimed.Str("status"));
            Assert.Equal($"wake-{round}", claimed.Str("lease_owner"));
            output.WriteLine($"round {round}: created through {Names[round]}, claimed through {Names[(round + 1) % 3]} " +
                $"{(clock.Elapsed - created).TotalMilliseconds:0} ms after the create returned (wait {WaitSeconds} s)");
        }

        var errors = cluster.ServerErrors();
        Assert.True(errors.Count == 0, "5xx:\n" + string.Join("\n", errors));
    }

    private static readonly JsonSerializerOptions SnakeCase = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static string CompletedBy(JobRow row) => row.CompletedBy ?? "";

    private static int ClaimRequestsLogged(ServerProcess server) =>
        server.RecentLines.Count(l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains(WorkerApi.ClaimPath, StringComparison.Ordinal));

    /// <summary>
    /// Waits a while for worker loops that were stopped (or lost their server, or the test failed); their errors are
    /// expected (calls to a dead instance fail) and must not hide the test's own outcome.
    /// </summary>
    private static async Task EndQuietlyAsync(IEnumerable<Task> loops)
    {
        try
        {
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception)
        {
            // See above.
        }
    }

    /// <summary>Creates probe jobs through <paramref name="through"/> until one's event comes through the stream.</summary>
    private static async Task SubscribedAsync(SseClient stream, ServerProcess through)
    {
        var probes = new List<string>();
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            probes.Add((await through.Client.CreateJobAsync("""{"type":"multi.sse.probe"}""")).Str("id"));
            if (await stream.TryWaitForAsync(m => m.Any(x => probes.Contains(x.JobId)), TimeSpan.FromMilliseconds(250)))
            {
                return;
            }

            Assert.False(stream.Ended, $"the stream ended before it was subscribed: {string.Join("\n", stream.Messages)}");
            Assert.True(DateTime.UtcNow < deadline, $"no probe event came through the stream within {Wait.TotalSeconds} s");
        }
    }

    /// <summary>
    /// <paramref name="count"/> jobs of <paramref name="type"/>, each created through one instance and changed through
    /// both (a stage, labels), then all claimed through <paramref name="x"/> and finished through either: half completed,
    /// half failed. Returns their ids.
    /// </summary>
    private static async Task<List<string>> WriteThroughAsync(ServerProcess x, ServerProcess y, string type, int count)
    {
        var ids = Enumerable.Range(0, count).Select(i => $"{type}-{i:D3}").ToList();
        await Task.WhenAll(ids.Select(async (id, i) =>
        {
            var (mine, other) = i % 2 == 0 ? (x, y) : (y, x);
            await mine.Client.CreateJobAsync($$"""{"id":"{{id}}","type":"{{type}}"}""");
            await other.Client.PatchJobAsync(id, """{"progress":{"fraction":0.25,"stage":"prepare"}}""");
            await mine.Client.PatchJobAsync(id, $$$"""{"labels":{"via":"{{{mine.BaseAddress.Port}}}"}}""");
        }));

        var claimed = new List<JsonElement>();
        while (claimed.Count < count)
        {
            var jobs = await x.Client.ClaimAsync("sse-worker", type, max: count);
            Assert.NotEmpty(jobs);
            claimed.AddRange(jobs);
        }

        await Task.WhenAll(claimed.Select(async (item, i) =>
        {
            if (i % 2 == 0)
            {
                await y.Client.ActionAsync(item.Str("id"), "complete", WorkerApi.LeaseBody(item.Token(), ""","result":{"ok":true}"""));
            }
            else
            {
                await x.Client.ActionAsync(item.Str("id"), "fail", WorkerApi.LeaseBody(item.Token(), ""","error":{"message":"no"},"retry":false"""));
            }
        }));
        return ids;
    }

    /// <summary>Each job's events on the stream are its whole history as <c>GET /jobs/{id}/events</c> (through <paramref name="server"/>) tells it.</summary>
    private static async Task AssertSameAsHistoryAsync(ServerProcess server, IReadOnlyList<string> jobs, IReadOnlyList<SseMessage> streamed)
    {
        foreach (var id in jobs)
        {
            var history = await server.Client.EventsAsync(id);
            var mine = streamed.Where(m => m.JobId == id).ToList();
            Assert.True(history.Count >= 6, $"{id}: only {history.Count} events in its history");
            Assert.Equal(history.Select(e => e.GetProperty("id").GetInt64()), mine.Select(m => m.EventId));
            foreach (var (expected, message) in history.Zip(mine))
            {
                var actual = message.Json;
                Assert.Equal(expected.Str("type"), message.Event);
                Assert.Equal(expected.Str("type"), actual.Str("type"));
                Assert.Equal(expected.Version(), actual.Version());
                Assert.Equal(expected.GetProperty("actor").ToString(), actual.GetProperty("actor").ToString());
                Assert.True(JsonElement.DeepEquals(expected.GetProperty("data"), actual.GetProperty("data")),
                    $"{id}: event {message.EventId} streamed as {actual} but its history says {expected}");
            }
        }
    }

    private sealed record Handled(int Instance, string JobId, string Worker, int Attempt);

    private sealed record NoopResult(string Instance, string Worker);

    private sealed record JobRow(string Id, string Status, int Attempt, long Version, string? Result, long Completions, long OtherFinals,
        string? CompletedBy, long LeaseExpiries);
}
