using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary><c>GET /api/v1/workers</c> and <c>jobkeeper workers</c>: the workers the server heard from, what they hold and did.</summary>
public sealed class WorkersRouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Client => fixture.Client;

    private string Url => fixture.Server.BaseAddress.ToString().TrimEnd('/');

    /// <summary>The worker's entry once it shows what <paramref name="done"/> expects (workers are stored every few seconds).</summary>
    private async Task<JsonElement> WorkerAsync(string worker, Func<JsonElement, bool> done)
    {
        JsonElement found = default;
        await Api.PollAsync(async () =>
        {
            var list = await Client.GetJsonAsync("/api/v1/workers?within_seconds=600");
            foreach (var item in list.GetProperty("items").EnumerateArray())
            {
                if (item.Str("worker_id") == worker && done(item))
                {
                    found = item.Clone();
                    return true;
                }
            }

            return false;
        }, TimeSpan.FromSeconds(30), () => $"worker {worker} as expected in GET /api/v1/workers");
        return found;
    }

    [Fact]
    public async Task An_http_worker_shows_what_it_holds_when_it_was_heard_from_and_what_it_completed_and_failed()
    {
        var type = $"workers.{Guid.NewGuid():N}";
        var worker = $"w-{Guid.NewGuid():N}"[..20];
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await Client.CreateJobAsync($$"""{"type":"{{type}}","max_attempts":1}""")).Str("id"));
        }

        var claimed = (await Client.ClaimAsync(worker, type, max: 3)).ToList();
        Assert.Equal(3, claimed.Count);
        await Client.ActionAsync(claimed[0].Str("id"), "complete", WorkerApi.LeaseBody(claimed[0].Token(), ""));
        await Client.ActionAsync(claimed[1].Str("id"), "fail", WorkerApi.LeaseBody(claimed[1].Token(), ""","error":{"message":"no"},"retry":false"""));

        var seen = await WorkerAsync(worker, w => w.GetProperty("completed_last_5_minutes").GetInt64() == 1);
        Assert.Equal("http", seen.Str("kind"));
        Assert.Equal(1, seen.GetProperty("failed_last_5_minutes").GetInt64());
        Assert.Equal(3, seen.GetProperty("claimed_last_5_minutes").GetInt64());
        Assert.Equal(0.2, seen.GetProperty("completed_per_minute").GetDouble());
        Assert.Equal(1, seen.GetProperty("running").GetInt32());
        Assert.Equal(claimed[2].Str("id"), seen.GetProperty("jobs")[0].Str("id"));
        Assert.Equal(type, seen.GetProperty("jobs")[0].Str("type"));
        Assert.True(seen.GetProperty("last_seen_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));

        var cli = await CliRunner.RunAsync(["workers", "--server", Url]);
        Assert.True(cli.ExitCode == 0, cli.ToString());
        Assert.Contains(worker, cli.Stdout, StringComparison.Ordinal);
        var json = await CliRunner.RunAsync(["workers", "--json", "--server", Url]);
        Assert.True(json.ExitCode == 0, json.ToString());
        var mine = JsonDocument.Parse(json.Stdout).RootElement.EnumerateArray().Single(w => w.Str("worker_id") == worker);
        Assert.Equal(1, mine.GetProperty("running").GetInt32());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3601")]
    [InlineData("soon")]
    public async Task A_window_out_of_range_is_400_naming_it(string value)
    {
        using var response = await Client.GetAsync("/api/v1/workers?within_seconds=" + value);
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, "within_seconds");
    }
}
