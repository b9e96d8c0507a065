using System.Diagnostics;
using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// The example Python worker against a server with API keys (the only kind that listens beyond loopback): it sends its
/// key from <c>--api-key</c> or <c>JOBKEEPER_API_KEY</c>, and Ctrl+C while it long-polls ends it at once. Each test
/// starts its own server, with request logging on so the test can see the worker's claim arrive.
/// </summary>
public sealed class PythonWorkerKeysTests(ITestOutputHelper output)
{
    private const string Type = "demo.wordcount";
    private static readonly TimeSpan ExitDeadline = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long an idle worker may take to exit after SIGINT: the 1 s the worker promises (it looks for the signal every
    /// 0.1 s, then cuts the claim), plus 4 s for process scheduling on a busy test machine. Without the cut the worker
    /// waits out the server's long poll, 30 s here.
    /// </summary>
    private static readonly TimeSpan InterruptBound = TimeSpan.FromSeconds(1 + 4);

    private static readonly Dictionary<string, string> RequestLogging = new()
    {
        ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
    };

    [Fact]
    public async Task The_worker_sends_its_key_from_the_option_or_the_environment_and_without_one_is_refused()
    {
        var keys = AccessKeys.NewKeyPerRole();
        await using var server = await StartServerAsync(keys);

        var byOption = await CreateAsync(server, keys["submit"], "sent with the option");
        await RunToIdleAsync(server, ["--api-key", keys["work"]], null, expectedExit: 0);
        Assert.Equal("completed", (await GetAsync(server, keys["submit"], byOption)).Str("status"));

        var byEnvironment = await CreateAsync(server, keys["submit"], "sent from the environment");
        await RunToIdleAsync(server, [], new Dictionary<string, string> { ["JOBKEEPER_API_KEY"] = keys["work"] }, expectedExit: 0);
        var job = await GetAsync(server, keys["submit"], byEnvironment);
        Assert.Equal("completed", job.Str("status"));
        Assert.Equal(4, job.GetProperty("result").GetProperty("words").GetInt32());

        var refused = await RunToIdleAsync(server, [], null, expectedExit: 2);
        Assert.Contains("claim refused: HTTP 401", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ctrl_C_while_the_worker_long_polls_ends_it_within_a_second_and_cuts_the_claim()
    {
        var keys = AccessKeys.NewKeyPerRole();
        await using var server = await StartServerAsync(keys, RequestLogging);
        await using var worker = StartWorker(server, ["--wait-seconds", "30"], new Dictionary<string, string> { ["JOBKEEPER_API_KEY"] = keys["work"] });

        // The claim is on the server, waiting for work (no job of this type exists).
        await Api.PollAsync(() =>
        {
            Assert.False(worker.HasExited, $"the worker exited early:\n{worker.Output}");
            return Task.FromResult(server.RecentLines.Any(l =>
                l.Contains("Request starting", StringComparison.Ordinal) && l.Contains(WorkerApi.ClaimPath, StringComparison.Ordinal)));
        }, TimeSpan.FromSeconds(30), () => "the worker's claim did not reach the server:\n" + server.Output + "\n" + worker.Output);

        var clock = Stopwatch.StartNew();
        worker.Interrupt();
        var exitCode = await worker.WaitForExitAsync(ExitDeadline);
        clock.Stop();
        output.WriteLine(worker.Output);
        output.WriteLine($"the worker exited {clock.Elapsed.TotalMilliseconds:0} ms after SIGINT (bound {InterruptBound.TotalMilliseconds:0} ms)");
        Assert.True(exitCode == 0, $"the worker exited with {exitCode}:\n{worker.Output}");
        Assert.True(clock.Elapsed < InterruptBound,
            $"the worker took {clock.Elapsed.TotalSeconds:0.0} s to exit after SIGINT (bound {InterruptBound.TotalSeconds:0} s):\n{worker.Output}");
        Assert.Contains("SIGINT: no more claims", worker.Output, StringComparison.Ordinal);

        // The server saw the claim end (long before its 30 s) and holds no waiting claim for the gone worker: a job
        // created now is there for the next claim.
        await Api.PollAsync(() => Task.FromResult(server.RecentLines.Any(l =>
                l.Contains("Request finished", StringComparison.Ordinal) && l.Contains(WorkerApi.ClaimPath, StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), () => "the server did not see the claim end:\n" + server.Output);
        var id = await CreateAsync(server, keys["submit"], "after the worker left");
        using var claim = new HttpRequestMessage(HttpMethod.Post, WorkerApi.ClaimPath) { Content = Api.Json(WorkerApi.ClaimBody("w-next", Type)) }
            .WithKey(keys["work"]);
        using var claimed = await server.Client.SendAsync(claim);
        var body = await Api.ExpectJsonAsync(claimed, HttpStatusCode.OK);
        Assert.Equal(id, Assert.Single(body.GetProperty("jobs").EnumerateArray()).Str("id"));
    }

    private static Task<ServerProcess> StartServerAsync(Dictionary<string, string> keys, IReadOnlyDictionary<string, string>? environment = null) =>
        ServerProcess.StartAsync(environment: environment, prepareWorkingDirectory: AccessKeys.WriteSettings(
        [
            ("py-worker", keys["work"], ["work"]),
            ("submitter", keys["submit"], ["submit", "read"]),
        ]));

    private static PythonWorkerProcess StartWorker(ServerProcess server, IEnumerable<string> options, IReadOnlyDictionary<string, string>? environment) =>
        PythonWorkerProcess.Start(
            new[] { "--url", server.BaseAddress.ToString().TrimEnd('/'), "--types", Type, "--worker-id", "py-" + Guid.NewGuid().ToString("N")[..8] }
                .Concat(options),
            environment);

    /// <summary>Runs the worker until a claim finds nothing; returns its output.</summary>
    private async Task<string> RunToIdleAsync(ServerProcess server, string[] options, IReadOnlyDictionary<string, string>? environment, int expectedExit)
    {
        await using var worker = StartWorker(server, [.. options, "--wait-seconds", "1", "--exit-when-idle", "--demo-step-seconds", "0"], environment);
        var exitCode = await worker.WaitForExitAsync(ExitDeadline);
        output.WriteLine(worker.Output);
        Assert.True(exitCode == expectedExit, $"the worker exited with {exitCode}, expected {expectedExit}:\n{worker.Output}");
        return worker.Output;
    }

    private static async Task<string> CreateAsync(ServerProcess server, string key, string text)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Api.Jobs)
        {
            Content = Api.Json($$$"""{"type":"{{{Type}}}","input":{"text":"{{{text}}}"}}"""),
        }.WithKey(key);
        using var response = await server.Client.SendAsync(request);
        return (await Api.ExpectJsonAsync(response, HttpStatusCode.Created)).Str("id");
    }

    private static async Task<System.Text.Json.JsonElement> GetAsync(ServerProcess server, string key, string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Api.JobPath(id)).WithKey(key);
        using var response = await server.Client.SendAsync(request);
        return await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
    }
}
