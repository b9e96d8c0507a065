using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// PostgreSQL drops the servers' connections in the middle of their commits: two real <c>jobkeeper serve</c>
/// processes on one database take creates of fresh ids and worker claim/complete cycles while a loop terminates
/// every one of their backends twice a second. A write whose <c>COMMIT</c> reply was lost may have committed;
/// the answer must still be the truth: never <c>409 duplicate-id</c> for a create whose stored row is the
/// client's own, never <c>409 lease-lost</c> for a complete whose stored completion is the client's own, and
/// every write answered 2xx is in the database afterwards. (503 is allowed: the write was not acknowledged.)
/// </summary>
[Collection(DedicatedPostgresCollection.Name)]
public sealed class PostgresCommitLossTests(ITestOutputHelper output)
{
    private const string Type = "commit.loss";
    private const string DuplicateIdType = "https://jobkeeper.dev/problems/duplicate-id";
    private static readonly TimeSpan Load = TimeSpan.FromSeconds(25);
    private static readonly TimeSpan KillEvery = TimeSpan.FromMilliseconds(500);
    private const string ConfirmedCommit = "PostgreSQL confirms transaction";

    // Every backend of the servers (they connect as application "jobkeeper"); the test's own connections are left alone.
    private const string TerminateServers = """
        SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'jobkeeper'
        """;

    [Fact]
    public async Task Backends_terminated_twice_a_second_under_load_from_two_instances_give_no_wrong_answer_and_lose_no_acknowledged_write()
    {
        await using var cluster = await PostgresCluster.StartAsync(2);
        var servers = cluster.Servers;
        var creates = new ConcurrentQueue<Answer>();
        var completes = new ConcurrentQueue<Answer>();
        var claims = new ConcurrentQueue<HttpStatusCode>();
        using var stop = new CancellationTokenSource();

        // How often a commit's reply was lost and the server found out that it had committed (it logs each one).
        long confirmed = 0;
        foreach (var server in servers)
        {
            server.LineReceived += line =>
            {
                if (line.Contains(ConfirmedCommit, StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref confirmed);
                }
            };
        }

        var creators = Enumerable.Range(0, 6).Select(lane => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var id = $"fresh-{lane}-{n}";
                var token = Guid.NewGuid().ToString("N");
                using var response = await servers[(lane + n) % 2].Client.PostJsonAsync(Api.Jobs,
                    $$$"""{"id":"{{{id}}}","type":"{{{Type}}}","input":{"token":"{{{token}}}"}}""");
                creates.Enqueue(new Answer(id, token, response.StatusCode, await ProblemTypeAsync(response)));
            }
        })).ToArray();

        // Each cycle claims through one instance and completes through the other.
        var workers = Enumerable.Range(0, 4).Select(lane => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var through = servers[(lane + n) % 2].Client;
                JsonElement job;
                using (var response = await through.PostJsonAsync(WorkerApi.ClaimPath, WorkerApi.ClaimBody($"w{lane}", Type, waitSeconds: 0.2)))
                {
                    claims.Enqueue(response.StatusCode);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        continue;
                    }

                    var jobs = (await Api.ExpectJsonAsync(response, HttpStatusCode.OK)).GetProperty("jobs");
                    if (jobs.GetArrayLength() == 0)
                    {
                        continue;
                    }

                    job = jobs[0];
                }

                var token = Guid.NewGuid().ToString("N");
                using var completed = await servers[(lane + n + 1) % 2].Client.PostActionAsync(job.Str("id"), "complete",
                    WorkerApi.LeaseBody(job.Token(), $$$""","result":{"token":"{{{token}}}"}"""));
                completes.Enqueue(new Answer(job.Str("id"), token, completed.StatusCode, await ProblemTypeAsync(completed)));
            }
        })).ToArray();

        long terminated = 0;
        var killer = Task.Run(async () =>
        {
            await using var connection = await cluster.OpenAsync();
            using var timer = new PeriodicTimer(KillEvery);
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
            {
                await using var command = new NpgsqlCommand(TerminateServers, connection);
                terminated += (long)(await command.ExecuteScalarAsync(stop.Token))!;
            }
        });

        try
        {
            await Task.Delay(Load, stop.Token); // the length of the load run, not a wait for a result
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(creators.Concat(workers).Append(killer).Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        }

        Assert.True(creators.Concat(workers).All(t => t.IsCompletedSuccessfully),
            "a load lane failed: " + string.Join("\n", creators.Concat(workers).Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException)));

        // What is stored, read directly: each job's input token, status and result.
        var stored = (await cluster.QueryAsync("SELECT id, input, status, result FROM jobs",
                r => (Id: r.GetString(0), Input: r.IsDBNull(1) ? "" : r.GetString(1), Status: r.GetString(2), Result: r.IsDBNull(3) ? "" : r.GetString(3))))
            .ToDictionary(r => r.Id, StringComparer.Ordinal);
        bool CreatedByMe(Answer a) => stored.TryGetValue(a.Id, out var row) && row.Input.Contains(a.Token, StringComparison.Ordinal);
        bool CompletedByMe(Answer a) => stored.TryGetValue(a.Id, out var row) && row.Status == "completed" && row.Result.Contains(a.Token, StringComparison.Ordinal);

        var wrongCreates = creates.Where(a => a.Status == HttpStatusCode.Conflict && a.Problem == DuplicateIdType && CreatedByMe(a))
            .Select(a => $"create {a.Id}: 409 duplicate-id, but the stored row is its own").ToList();
        var wrongCompletes = completes.Where(a => a.Status == HttpStatusCode.Conflict && a.Problem == WorkerApi.LeaseLostType && CompletedByMe(a))
            .Select(a => $"complete {a.Id}: 409 lease-lost, but the stored completion is its own").ToList();
        var lostCreates = creates.Where(a => a.Status == HttpStatusCode.Created && !CreatedByMe(a))
            .Select(a => $"create {a.Id}: 201, but its row is not stored").ToList();
        var lostCompletes = completes.Where(a => a.Status == HttpStatusCode.OK && !CompletedByMe(a))
            .Select(a => $"complete {a.Id}: 200, but the job is not completed with its result").ToList();
        List<string> wrong = [.. wrongCreates, .. wrongCompletes];
        List<string> lost = [.. lostCreates, .. lostCompletes];
        var statuses = creates.Select(a => a.Status).Concat(completes.Select(a => a.Status)).Concat(claims).ToList();
        var others = statuses.Where(s => (int)s is < 200 or >= 300 && s != HttpStatusCode.ServiceUnavailable).ToList();

        output.WriteLine($"load {Load.TotalSeconds:F0} s, {terminated} backends terminated (every {KillEvery.TotalMilliseconds:F0} ms)");
        output.WriteLine($"requests {statuses.Count} (creates {creates.Count}, claims {claims.Count}, completes {completes.Count}): " +
            $"2xx {statuses.Count(s => (int)s is >= 200 and < 300)}, 503 {statuses.Count(s => s == HttpStatusCode.ServiceUnavailable)}, " +
            $"other {(others.Count == 0 ? "none" : string.Join(", ", others.GroupBy(s => (int)s).Select(g => $"{g.Key}×{g.Count()}")))}");
        output.WriteLine($"wrong answers {wrong.Count} (creates {wrongCreates.Count}, completes {wrongCompletes.Count}), " +
            $"acknowledged writes lost {lost.Count} (creates {lostCreates.Count}, completes {lostCompletes.Count})");
        output.WriteLine($"commits whose reply was lost, found committed by the servers: {Interlocked.Read(ref confirmed)}");
        foreach (var line in wrong.Concat(lost).Take(20))
        {
            output.WriteLine("  " + line);
        }

        Assert.True(creates.Any(a => a.Status == HttpStatusCode.Created) && completes.Any(a => a.Status == HttpStatusCode.OK),
            "the load did not get through at all:\n" + cluster.Output());
        Assert.True(terminated > 0, "no backend was terminated");
        Assert.Empty(wrong);
        Assert.Empty(lost);
        Assert.DoesNotContain(statuses, s => s == HttpStatusCode.InternalServerError);
        // The terminations hit commits (otherwise the run above proves nothing).
        Assert.True(Interlocked.Read(ref confirmed) > 0, "no commit lost its reply: the terminations never hit a COMMIT");
    }

    [Fact]
    public async Task A_create_and_a_complete_whose_COMMIT_reply_is_lost_are_answered_as_done_when_they_committed()
    {
        await using var postgres = await DedicatedPostgres.StartAsync();
        await using var server = await ServerProcess.StartAsync(environment: new Dictionary<string, string>
        {
            ["JOBKEEPER__POSTGRES"] = postgres.ConnectionString,
        });
        await server.Client.CreateJobAsync($$"""{"id":"claimed","type":"{{Type}}"}""");
        var item = await server.Client.ClaimOneAsync("w", Type);
        var lines = new ConcurrentQueue<string>();
        server.LineReceived += line => lines.Enqueue(line);

        await using var admin = new NpgsqlConnection(postgres.ConnectionString);
        await admin.OpenAsync();
        await WaitForStandbyAsync(admin);
        try
        {
            // Each commit is durable on the server at once, but waits for its reply; the wait ends with its connection.
            using var created = await WithCommitReplyLostAsync(admin,
                server.Client.PostJsonAsync(Api.Jobs, $$$"""{"id":"lost-reply","type":"{{{Type}}}","input":{"n":1}}"""));
            Assert.Equal(1, (await Api.ExpectJsonAsync(created, HttpStatusCode.Created)).Version());

            using var completed = await WithCommitReplyLostAsync(admin,
                server.Client.PostActionAsync("claimed", "complete", WorkerApi.LeaseBody(item.Token(), ""","result":{"done":true}""")));
            Assert.Equal("completed", (await Api.ExpectJsonAsync(completed, HttpStatusCode.OK)).Str("status"));
        }
        finally
        {
            await ExecuteAsync(admin, "ALTER SYSTEM RESET synchronous_standby_names");
            await ExecuteAsync(admin, "SELECT pg_reload_conf()");
        }

        Assert.True(lines.Count(l => l.Contains(ConfirmedCommit, StringComparison.Ordinal)) >= 2, "the server did not find the two commits committed");
        Assert.Equal(1, (await server.Client.GetJobAsync("lost-reply")).Version());
        Assert.Equal("completed", (await server.Client.GetJobAsync("claimed")).Str("status"));
        Assert.Single(await server.Client.EventsAsync("lost-reply"));
    }

    /// <summary>Makes every commit wait for a synchronous standby that never connects, and waits until a commit does.</summary>
    private static async Task WaitForStandbyAsync(NpgsqlConnection admin)
    {
        await ExecuteAsync(admin, "CREATE TABLE probe (n integer)");
        await ExecuteAsync(admin, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
        await ExecuteAsync(admin, "SELECT pg_reload_conf()");

        // The setting reaches the server's processes a moment after the reload. Once it has, a probe commit waits for
        // the standby until it is cancelled (a statement timeout does not cover COMMIT), and says so in a warning.
        await using var probe = new NpgsqlConnection(admin.ConnectionString);
        await probe.OpenAsync();
        var waited = false;
        probe.Notice += (_, e) => waited |= e.Notice.MessageText.Contains("synchronous replication", StringComparison.Ordinal);
        await Api.PollAsync(async () =>
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await using var insert = new NpgsqlCommand("INSERT INTO probe VALUES (1)", probe);
            try
            {
                await insert.ExecuteNonQueryAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                // Cancelled out of the wait: the warning came first.
            }

            return waited;
        }, TimeSpan.FromSeconds(15), () => "commits never began to wait for the synchronous standby");
    }

    /// <summary>Terminates the server's backends whose commit waits for the standby until <paramref name="request"/> is answered.</summary>
    private static async Task<HttpResponseMessage> WithCommitReplyLostAsync(NpgsqlConnection admin, Task<HttpResponseMessage> request)
    {
        var terminated = 0L;
        await Api.PollAsync(async () =>
        {
            await using var command = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND application_name = 'jobkeeper'", admin);
            terminated += (long)(await command.ExecuteScalarAsync())!;
            return request.IsCompleted;
        }, TimeSpan.FromSeconds(30), () => "the request was not answered");
        Assert.True(terminated > 0, "the request was answered without its commit waiting");
        return await request;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string?> ProblemTypeAsync(HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode || response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return null;
        }

        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return problem.RootElement.TryGetProperty("type", out var type) ? type.GetString() : null;
    }

    private sealed record Answer(string Id, string Token, HttpStatusCode Status, string? Problem);
}
