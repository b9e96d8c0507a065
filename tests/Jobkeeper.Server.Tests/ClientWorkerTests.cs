using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Jobkeeper.Client;
using Jobkeeper.Model;
using Jobkeeper.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary><see cref="JobkeeperClient.RunWorkerAsync"/> against a real server: results, progress, failures, cancellation and stopping.</summary>
public sealed class ClientWorkerTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly HttpClient _http = new() { BaseAddress = fixture.Server.BaseAddress };

    private JobkeeperClient Client => new(_http);

    public void Dispose() => _http.Dispose();

    private static string NewType(string what) => $"client.worker.{what}.{Guid.NewGuid():N}";

    private static WorkerLoopOptions Options(string what, int concurrency = 4, int leaseSeconds = 30) => new()
    {
        WorkerId = "client-" + what,
        Concurrency = concurrency,
        LeaseSeconds = leaseSeconds,
        WaitSeconds = 1,
    };

    internal static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    internal static async Task StopAsync(CancellationTokenSource stop, Task loop)
    {
        await stop.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(20));
    }

    internal static async Task<IReadOnlyList<Job>> WaitForAllAsync(JobkeeperClient client, IReadOnlyCollection<string> ids, Func<Job, bool> done, TimeSpan timeout)
    {
        var jobs = new Dictionary<string, Job?>();
        await Api.PollAsync(async () =>
        {
            foreach (var id in ids)
            {
                if (!jobs.TryGetValue(id, out var known) || known is null || !done(known))
                {
                    jobs[id] = await client.GetAsync(id);
                }
            }

            return jobs.Values.All(j => j is not null && done(j));
        }, timeout, () => string.Join("\n", jobs.Select(p => $"{p.Key}: {p.Value?.Status.ToString() ?? "missing"} attempt {p.Value?.Attempt} error {p.Value?.Error?.Message}")));
        return ids.Select(id => jobs[id]!).ToList();
    }

    [Fact]
    public async Task Processes_many_jobs_with_progress_and_results()
    {
        var type = NewType("many");
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add((await Client.CreateAsync(new NewJob { Type = type, Input = Json($$"""{"n":{{i}}}""") })).Id);
        }

        var seen = new ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();
        var loop = Client.RunWorkerAsync([type], async (job, ct) =>
        {
            seen.AddOrUpdate(job.Id, 1, (_, n) => n + 1);
            var input = job.GetInput<Numbered>()!;
            await job.ReportProgressAsync(fraction: 0.5, stage: "halfway", message: $"n={input.N}", current: 1, total: 2, cancellationToken: ct);
            return new Doubled(input.N, input.N * 2);
        }, Options("many"), stop.Token);

        try
        {
            var jobs = await WaitForAllAsync(Client, ids, j => j.Status.IsTerminal(), Deadline);
            foreach (var job in jobs)
            {
                Assert.Equal(JobStatus.Completed, job.Status);
                var n = job.Input!.Value.GetProperty("n").GetInt32();
                Assert.Equal(n, job.Result!.Value.GetProperty("n").GetInt32());
                Assert.Equal(2 * n, job.Result!.Value.GetProperty("doubled_value").GetInt32());
                Assert.Equal("halfway", job.Progress?.Stage);
                Assert.Equal($"n={n}", job.Progress?.Message);
                Assert.Equal(1, job.Progress?.Current);
                Assert.Equal(2, job.Progress?.Total);
                Assert.Equal(1, job.Attempt);
                Assert.Null(job.LeaseOwner);
                Assert.Equal(1, seen[job.Id]);
            }

            var events = await Client.GetEventsAsync(ids[0]);
            Assert.Contains(events, e => e.Type == JobEventTypes.StatusChanged && e.Actor == "client-many");
        }
        finally
        {
            await StopAsync(stop, loop);
        }
    }

    [Fact]
    public async Task A_worker_loop_given_queues_alone_runs_every_type_in_them_and_nothing_else()
    {
        var queue = "client-queue-" + Guid.NewGuid().ToString("N")[..12];
        var (a, b) = (NewType("queue-a"), NewType("queue-b"));
        var inQueue = new[]
        {
            (await Client.CreateAsync(new NewJob { Type = a, Queue = queue })).Id,
            (await Client.CreateAsync(new NewJob { Type = b, Queue = queue })).Id,
        };
        var elsewhere = (await Client.CreateAsync(new NewJob { Type = a })).Id;

        using var stop = new CancellationTokenSource();
        var loop = Client.RunWorkerAsync([], (job, ct) => Task.FromResult<object?>(new { job.Item.Queue }),
            Options("queues") with { Queues = [queue] }, stop.Token);
        var done = await WaitForAllAsync(Client, inQueue, j => j.Status == JobStatus.Completed, TimeSpan.FromSeconds(20));
        await StopAsync(stop, loop);

        Assert.All(done, j => Assert.Equal(queue, j.Result!.Value.GetProperty("queue").GetString()));
        Assert.Equal(JobStatus.Queued, (await Client.GetAsync(elsewhere))!.Status);
        var listed = new List<string>();
        await foreach (var job in Client.ListAsync(queue: queue))
        {
            listed.Add(job.Id);
        }

        Assert.Equal(inQueue.Reverse(), listed);
        await Client.DeleteAsync(elsewhere);
    }

    [Fact]
    public async Task A_throwing_handler_fails_the_job_and_it_is_retried()
    {
        var type = NewType("throws");
        var once = (await Client.CreateAsync(new NewJob { Type = type, MaxAttempts = 1, Labels = new Dictionary<string, string> { ["mode"] = "always" } })).Id;
        var twice = (await Client.CreateAsync(new NewJob { Type = type, MaxAttempts = 2, Labels = new Dictionary<string, string> { ["mode"] = "first" } })).Id;

        using var stop = new CancellationTokenSource();
        var loop = Client.RunWorkerAsync([type], (job, ct) =>
        {
            if (job.Item.Labels["mode"] == "always" || job.Item.Attempt == 1)
            {
                throw new InvalidOperationException($"boom on attempt {job.Item.Attempt}");
            }

            return Task.FromResult<object?>(new { attempt = job.Item.Attempt });
        }, Options("throws"), stop.Token);

        try
        {
            var jobs = await WaitForAllAsync(Client, [once, twice], j => j.Status.IsTerminal(), Deadline);

            var failed = jobs[0];
            Assert.Equal(JobStatus.Failed, failed.Status);
            Assert.Equal("boom on attempt 1", failed.Error?.Message);
            Assert.Equal("exception", failed.Error?.Code);
            Assert.Equal(typeof(InvalidOperationException).FullName, failed.Error?.Details?.GetString());

            var retried = jobs[1];
            Assert.Equal(JobStatus.Completed, retried.Status);
            Assert.Equal(2, retried.Attempt);
            Assert.Equal(2, retried.Result!.Value.GetProperty("attempt").GetInt32());
            var events = await Client.GetEventsAsync(twice);
            Assert.Contains(events, e => e.Data is { ValueKind: JsonValueKind.Object } data && data.ToString().Contains("boom on attempt 1", StringComparison.Ordinal));
        }
        finally
        {
            await StopAsync(stop, loop);
        }
    }

    [Fact]
    public async Task Cancelling_a_running_job_stops_its_handler_and_the_job_ends_cancelled()
    {
        var type = NewType("cancel");
        var id = (await Client.CreateAsync(new NewJob { Type = type })).Id;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tokenFired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        using var stop = new CancellationTokenSource();
        var loop = Client.RunWorkerAsync([type], async (job, ct) =>
        {
            using var registration = ct.Register(() => tokenFired.TrySetResult());
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return null;
        }, Options("cancel", leaseSeconds: 3), stop.Token);

        try
        {
            await started.Task.WaitAsync(Deadline);
            Assert.Equal(JobStatus.Running, (await Client.GetAsync(id))!.Status);
            await Client.CancelAsync(id);

            // The heartbeat (every second with a 3 s lease) learns of the cancel and fires the handler's token.
            await tokenFired.Task.WaitAsync(Deadline);
            Assert.False(stop.IsCancellationRequested);
            var job = (await WaitForAllAsync(Client, [id], j => j.Status.IsTerminal(), Deadline))[0];
            Assert.Equal(JobStatus.Cancelled, job.Status);
            Assert.Null(job.LeaseOwner);
        }
        finally
        {
            await StopAsync(stop, loop);
        }
    }

    [Fact]
    public async Task Stopping_the_loop_releases_unfinished_jobs()
    {
        var type = NewType("stop");
        var id = (await Client.CreateAsync(new NewJob { Type = type })).Id;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        using var stop = new CancellationTokenSource();
        var loop = Client.RunWorkerAsync([type], async (job, ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return null;
        }, Options("stop"), stop.Token);

        await started.Task.WaitAsync(Deadline);
        await StopAsync(stop, loop);

        var job = await Client.GetAsync(id);
        Assert.Equal(JobStatus.Queued, job!.Status);
        Assert.Null(job.LeaseOwner);
        Assert.Null(job.Error);
    }

    private sealed record Numbered(int N);

    private sealed record Doubled(int N, int DoubledValue);
}

/// <summary>The worker loop keeps going across a server restart on the same database and port.</summary>
public sealed class ClientWorkerRestartTests(ITestOutputHelper output)
{
    private const int Jobs = 16;

    [Theory]
    [InlineData("kill")]
    [InlineData("terminate")]
    public async Task The_worker_loop_survives_a_server_restart(string how)
    {
        using var data = new TempDirectory("jobkeeper-client-restart");
        var db = data.File("jobkeeper.db");
        var port = FreePort();
        var type = $"client.restart.{how}.{Guid.NewGuid():N}";

        var server = await ServerProcess.StartAsync(db, port: port);
        ServerProcess? restarted = null;
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var client = new JobkeeperClient(http);
        using var stop = new CancellationTokenSource();
        var handled = new ConcurrentDictionary<string, int>();
        Task? loop = null;
        try
        {
            var ids = new List<string>();
            for (var i = 0; i < Jobs; i++)
            {
                ids.Add((await client.CreateAsync(new NewJob { Type = type, MaxAttempts = 10, Input = ClientWorkerTests.Json($$"""{"i":{{i}}}""") })).Id);
            }

            loop = client.RunWorkerAsync([type], async (job, ct) =>
            {
                handled.AddOrUpdate(job.Id, 1, (_, n) => n + 1);
                await job.ReportProgressAsync(stage: "working", cancellationToken: ct);
                await Task.Delay(TimeSpan.FromMilliseconds(150), ct); // the work itself
                return new { i = job.Item.Input!.Value.GetProperty("i").GetInt32() };
            }, new WorkerLoopOptions { WorkerId = "client-restart", Concurrency = 2, LeaseSeconds = 30, WaitSeconds = 1 }, stop.Token);

            // Some done, most still to do: stop the server.
            await Api.PollAsync(async () => await CountCompletedAsync(client, ids) >= 2, TimeSpan.FromSeconds(15), () => "no job completed before the restart");
            var before = await CountCompletedAsync(client, ids);
            if (how == "kill")
            {
                await server.KillAsync();
            }
            else
            {
                await server.TerminateAsync();
            }

            Assert.True(before < Jobs, $"all {Jobs} jobs completed before the server stopped");
            restarted = await ServerProcess.StartAsync(db, port: port);
            Assert.Equal(server.BaseAddress, restarted.BaseAddress);

            var jobs = await ClientWorkerTests.WaitForAllAsync(client, ids, j => j.Status == JobStatus.Completed || j.Status == JobStatus.Failed, TimeSpan.FromSeconds(25));
            output.WriteLine($"{how}: {before} of {Jobs} completed before the restart; handler runs {handled.Values.Sum()}");
            Assert.All(jobs, j => Assert.True(j.Status == JobStatus.Completed, $"{j.Id}: {j.Status}, attempt {j.Attempt}, error {j.Error?.Message}"));
            Assert.All(jobs, j => Assert.Equal(j.Input!.Value.GetProperty("i").GetInt32(), j.Result!.Value.GetProperty("i").GetInt32()));
        }
        finally
        {
            if (loop is not null)
            {
                await ClientWorkerTests.StopAsync(stop, loop);
            }

            await server.DisposeAsync();
            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }
        }
    }

    private static async Task<int> CountCompletedAsync(JobkeeperClient client, IReadOnlyList<string> ids)
    {
        var count = 0;
        foreach (var id in ids)
        {
            if ((await client.GetAsync(id))?.Status == JobStatus.Completed)
            {
                count++;
            }
        }

        return count;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
