using System.Diagnostics;
using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Long-poll claims that must be waiting on the server when something happens. Each test starts its own
/// server with request logging on, so it can see in the log that the claim arrived before it acts.
/// </summary>
public sealed class WorkerLongPollTests
{
    private static readonly Dictionary<string, string> RequestLogging = new()
    {
        ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
    };

    [Fact]
    public async Task A_waiting_claim_returns_a_job_created_while_it_waits()
    {
        await using var server = await ServerProcess.StartAsync(environment: RequestLogging);
        var type = $"longpoll.{Guid.NewGuid():N}";

        var clock = Stopwatch.StartNew();
        var claim = server.Client.ClaimAsync("w-longpoll", type, max: 5, waitSeconds: 10);
        await WaitForClaimRequestAsync(server, claim);

        var id = (await server.Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var jobs = await claim.WaitAsync(TimeSpan.FromSeconds(30));
        clock.Stop();

        var job = Assert.Single(jobs);
        Assert.Equal(id, job.Str("id"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10),
            $"the claim took {clock.Elapsed.TotalSeconds:0.0} s: it waited out its wait_seconds instead of taking the new job");
        var claimed = await server.Client.GetJobAsync(id);
        Assert.Equal("running", claimed.Str("status"));
        Assert.Equal("w-longpoll", claimed.Str("lease_owner"));
        Assert.Empty(server.Responses.ServerErrorsSince(0));
    }

    [Fact]
    public async Task A_waiting_claim_is_answered_with_no_jobs_when_the_server_shuts_down()
    {
        await using var server = await ServerProcess.StartAsync(environment: RequestLogging);
        var type = $"shutdown.{Guid.NewGuid():N}";

        var clock = Stopwatch.StartNew();
        var claim = server.Client.PostJsonAsync(WorkerApi.ClaimPath, WorkerApi.ClaimBody("w-shutdown", type, waitSeconds: 30));
        await WaitForClaimRequestAsync(server, claim);

        var exitCode = await server.TerminateAsync();
        using var response = await claim.WaitAsync(TimeSpan.FromSeconds(60));
        clock.Stop();
        var body = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("""{"jobs":[]}""", body.GetRawText());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30),
            $"the claim was answered after {clock.Elapsed.TotalSeconds:0.0} s: the shutdown waited out its wait_seconds");
        Assert.Equal(0, exitCode);
        Assert.Empty(server.Responses.ServerErrorsSince(0));
    }

    /// <summary>Waits until the server logged the start of the claim request (and it has not been answered).</summary>
    private static Task WaitForClaimRequestAsync(ServerProcess server, Task claim) =>
        Api.PollAsync(() =>
        {
            Assert.False(claim.IsCompleted, "the claim was answered before anything happened");
            return Task.FromResult(server.RecentLines.Any(l =>
                l.Contains("Request starting", StringComparison.Ordinal) && l.Contains(WorkerApi.ClaimPath, StringComparison.Ordinal)));
        }, TimeSpan.FromSeconds(30), () => "the server did not log the claim request:\n" + server.Output);
}
