using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// PostgreSQL goes away under load and comes back: two real server processes on a PostgreSQL server of this
/// test's own answer 503 fast while it is down, say why on /health, recover without a restart, and every write
/// they acknowledged is in the database afterwards.
/// </summary>
[Collection(DedicatedPostgresCollection.Name)]
public sealed class PostgresOutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(2);
    // A request must fail within the store timeout plus this (scheduling on a busy 2-core machine).
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task While_PostgreSQL_is_down_requests_fail_fast_with_503_and_the_instances_recover_by_themselves_losing_nothing_acknowledged()
    {
        await using var postgres = await DedicatedPostgres.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["JOBKEEPER__POSTGRES"] = postgres.ConnectionString,
            ["JOBKEEPER__POSTGRESTIMEOUT"] = StoreTimeout.ToString(),
        };
        await using var a = await ServerProcess.StartAsync(environment: environment);
        await using var b = await ServerProcess.StartAsync(environment: environment);
        var servers = new[] { a, b };

        var outcomes = new ConcurrentQueue<Outcome>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var server = servers[(w + n) % 2];
                var id = $"outage-{w}-{n}";
                var started = Stopwatch.GetTimestamp();
                HttpStatusCode status;
                try
                {
                    using var response = await server.Client.PostJsonAsync(Api.Jobs, $$"""{"type":"outage","id":"{{id}}"}""");
                    status = response.StatusCode;
                    if (status == HttpStatusCode.ServiceUnavailable)
                    {
                        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.ServiceUnavailable);
                        Assert.Contains("PostgreSQL", problem.Str("detail"), StringComparison.Ordinal);
                    }
                }
                catch (HttpRequestException)
                {
                    status = 0;
                }

                outcomes.Enqueue(new Outcome(id, server, status, DateTimeOffset.UtcNow, Stopwatch.GetElapsedTime(started)));
            }
        })).ToArray();

        try
        {
            await Api.PollAsync(() => Task.FromResult(outcomes.Count(o => o.Status == HttpStatusCode.Created) >= 300),
                TimeSpan.FromSeconds(30), () => $"300 creates before the outage; {outcomes.Count} so far");

            await postgres.StopServerAsync();
            var down = DateTimeOffset.UtcNow;
            foreach (var server in servers)
            {
                await Api.PollAsync(() => Task.FromResult(outcomes.Count(o => o.Server == server && o.At > down && o.Status == HttpStatusCode.ServiceUnavailable) >= 200),
                    TimeSpan.FromSeconds(20), () => $"503s from {server.BaseAddress} while PostgreSQL is down");
                using var health = await server.Client.GetAsync("/health");
                var body = await Api.ExpectJsonAsync(health, HttpStatusCode.ServiceUnavailable);
                Assert.Contains("PostgreSQL", body.Str("error"), StringComparison.Ordinal);
            }

            var restarting = DateTimeOffset.UtcNow;
            await postgres.StartServerAsync();
            var up = DateTimeOffset.UtcNow;
            foreach (var server in servers)
            {
                await Api.PollAsync(() => Task.FromResult(outcomes.Count(o => o.Server == server && o.At > up && o.Status == HttpStatusCode.Created) >= 20),
                    TimeSpan.FromSeconds(30), () => $"{server.BaseAddress} accepting creates again without a restart");
                using var health = await server.Client.GetAsync("/health");
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            }

            await stop.CancelAsync();
            await Task.WhenAll(writers);

            // While it was down (from its stop until the restart began) every request got 503: none hung, none got 500.
            var during = outcomes.Where(o => o.At > down && o.At < restarting).ToList();
            Assert.All(during, o => Assert.True(o.Status == HttpStatusCode.ServiceUnavailable,
                $"{o.Id} through {o.Server.BaseAddress} got {(int)o.Status} during the outage"));
            var slowest = during.Where(o => o.Status == HttpStatusCode.ServiceUnavailable).Max(o => o.Took);
            Assert.True(slowest <= StoreTimeout + Slack, $"a 503 took {slowest.TotalSeconds:F1} s; the store timeout is {StoreTimeout.TotalSeconds} s");
            Assert.DoesNotContain(outcomes, o => o.Status == HttpStatusCode.InternalServerError);
            output.WriteLine($"down {(restarting - down).TotalSeconds:F1} s: {during.Count} requests, all 503 (slowest {slowest.TotalMilliseconds:F0} ms, " +
                $"store timeout {StoreTimeout.TotalSeconds} s); creates acknowledged: {outcomes.Count(o => o.At <= down && o.Status == HttpStatusCode.Created)} before, " +
                $"{outcomes.Count(o => o.At >= restarting && o.Status == HttpStatusCode.Created)} after the restart began");

            // Every acknowledged create is in the database, read directly.
            var acknowledged = outcomes.Where(o => o.Status == HttpStatusCode.Created).Select(o => o.Id).ToArray();
            await using var connection = new NpgsqlConnection(postgres.ConnectionString);
            await connection.OpenAsync();
            await using var query = new NpgsqlCommand("SELECT count(*) FROM jobs WHERE id = ANY($1)", connection);
            query.Parameters.Add(new NpgsqlParameter { Value = acknowledged });
            Assert.Equal(acknowledged.Length, (long)(await query.ExecuteScalarAsync())!);
            output.WriteLine($"all {acknowledged.Length} acknowledged creates are in the database");

            // Changes made through one instance after the outage are seen through the other at once.
            var probe = await a.Client.CreateJobAsync("""{"type":"after-outage"}""");
            for (var i = 1; i <= 20; i++)
            {
                var patched = await a.Client.PatchJobAsync(probe.Str("id"), $$$"""{"progress":{"current":{{{i}}}}}""");
                Assert.Equal(patched.Version(), (await b.Client.GetJobAsync(probe.Str("id"))).Version());
            }

            // And both instances read them back at their version (the caches were not trusted through the outage).
            foreach (var id in acknowledged.Where((_, i) => i % 25 == 0))
            {
                Assert.Equal(1, (await b.Client.GetJobAsync(id)).Version());
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers.Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default)));
        }
    }

    private sealed record Outcome(string Id, ServerProcess Server, HttpStatusCode Status, DateTimeOffset At, TimeSpan Took);
}
