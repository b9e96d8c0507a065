using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary><c>POST /api/v1/jobs/bulk</c> and <c>jobkeeper jobs retry|cancel|delete --status …</c> on the real server.</summary>
public sealed class BulkRouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Client => fixture.Client;

    private string Url => fixture.Server.BaseAddress.ToString().TrimEnd('/');

    private Task<CliResult> Jobs(params string[] args) => CliRunner.RunAsync(["jobs", .. args, "--server", Url]);

    /// <summary><paramref name="count"/> jobs of a new type, created in one batch.</summary>
    private async Task<string> CreateManyAsync(int count)
    {
        var type = $"bulk.{Guid.NewGuid():N}";
        var jobs = string.Join(",", Enumerable.Range(0, count).Select(i => $$$"""{"type":"{{{type}}}","input":{"n":{{{i}}}}}"""));
        using var response = await Client.PostJsonAsync(Api.Jobs + "/batch", $$"""{"jobs":[{{jobs}}]}""");
        await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        return type;
    }

    private async Task<(long Matched, long Changed, long Skipped)> BulkAsync(string body, string? actor = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Api.Jobs + "/bulk") { Content = Api.Json(body) };
        if (actor is not null)
        {
            request.Headers.Add("X-Actor", actor);
            request.Headers.Add("X-Reason", "tidy%20up");
        }

        using var response = await Client.SendAsync(request);
        var answer = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        return (answer.GetProperty("matched").GetInt64(), answer.GetProperty("changed").GetInt64(), answer.GetProperty("skipped").GetInt64());
    }

    private async Task<int> CountAsync(string type, string status)
    {
        var page = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&status={status}&limit=1000");
        return page.GetProperty("items").GetArrayLength();
    }

    [Fact]
    public async Task A_dry_run_counts_then_the_action_changes_exactly_the_matching_jobs_and_each_says_who_did_it()
    {
        var type = await CreateManyAsync(120);
        var dry = await BulkAsync($$$"""{"action":"cancel","filter":{"type":"{{{type}}}","status":"queued"},"dry_run":true}""");
        Assert.Equal((120L, 0L, 120L), dry);
        Assert.Equal(120, await CountAsync(type, "queued"));

        Assert.Equal((120L, 120L, 0L), await BulkAsync($$$"""{"action":"cancel","filter":{"type":"{{{type}}}","status":"queued"}}""", actor: "alice"));
        Assert.Equal(120, await CountAsync(type, "cancelled"));

        // A retry of the whole type retries the cancelled ones; nothing else matches.
        Assert.Equal((120L, 120L, 0L), await BulkAsync($$$"""{"action":"retry","filter":{"type":"{{{type}}}"}}""", actor: "alice"));
        var jobs = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&limit=1");
        var id = jobs.GetProperty("items")[0].Str("id");
        var events = (await Client.GetJsonAsync(Api.JobPath(id) + "/events")).GetProperty("items").EnumerateArray().ToList();
        Assert.All(events.TakeLast(2), e =>
        {
            Assert.Equal("alice", e.Str("actor"));
            Assert.Equal("tidy up", e.Str("reason"));
        });
    }

    [Theory]
    [InlineData("""{"action":"retry"}""", "filter")]
    [InlineData("""{"action":"retry","filter":{}}""", "filter")]
    [InlineData("""{"action":"explode","filter":{"type":"x"}}""", "action")]
    [InlineData("""{"action":"retry","filter":{"status":"broken"}}""", "filter.status")]
    [InlineData("""{"action":"retry","filter":{"label":["nocolon"]}}""", "filter.label")]
    [InlineData("""{"action":"retry","filter":{"queue":"bad queue!"}}""", "filter.queue")]
    [InlineData("""{"action":"retry","filter":{"colour":"red"}}""", "filter.colour")]
    [InlineData("""{"filter":{"type":"x"}}""", "action")]
    public async Task Bad_input_is_400_naming_the_field_and_changes_nothing(string body, string field)
    {
        var type = await CreateManyAsync(3);
        using (var response = await Client.PostJsonAsync(Api.Jobs + "/bulk", body))
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        }

        Assert.Equal(3, await CountAsync(type, "queued"));
    }

    [Fact]
    public async Task The_cli_retries_cancels_and_deletes_by_filter_and_lists_ids_and_json_for_scripts()
    {
        var type = await CreateManyAsync(40);

        var dry = await Jobs("cancel", "--type", type, "--status", "queued", "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Contains("dry run: 40 jobs", dry.Stdout, StringComparison.Ordinal);
        Assert.Equal(40, await CountAsync(type, "queued"));

        var cancel = await Jobs("cancel", "--type", type, "--actor", "ops", "--reason", "wrong input");
        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        Assert.Contains("cancel: 40 matched, 40 changed, 0 skipped", cancel.Stdout, StringComparison.Ordinal);

        var ids = await Jobs("list", "--type", type, "--status", "cancelled", "--ids", "--all");
        Assert.True(ids.ExitCode == 0, ids.ToString());
        var lines = ids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(40, lines.Length);
        Assert.All(lines, line => Assert.Matches("^[0-9a-f-]{36}$", line));

        var json = await Jobs("list", "--type", type, "--json", "--limit", "5");
        Assert.True(json.ExitCode == 0, json.ToString());
        var objects = json.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(5, objects.Count);
        Assert.All(objects, o => Assert.Equal("cancelled", o.Str("status")));

        var retry = await Jobs("retry", "--type", type, "--status", "cancelled");
        Assert.True(retry.ExitCode == 0, retry.ToString());
        Assert.Contains("retry: 40 matched, 40 changed", retry.Stdout, StringComparison.Ordinal);

        var delete = await Jobs("delete", "--type", type);
        Assert.True(delete.ExitCode == 0, delete.ToString());
        Assert.Contains("delete: 40 matched, 40 changed", delete.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync(type, "queued"));

        var neither = await Jobs("retry");
        Assert.NotEqual(0, neither.ExitCode);
        Assert.Contains("give a job id, or filters", neither.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_search_lists_and_bulk_changes_the_jobs_with_its_words_and_refuses_one_over_1000_characters()
    {
        var type = await CreateManyAsync(4);
        var word = "xk" + Guid.NewGuid().ToString("N")[..12];
        var page = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&limit=10");
        var marked = page.GetProperty("items")[0].Str("id");
        await Client.PatchJobAsync(marked, $$$"""{"labels":{"tag":"{{{word}}}"}}""");

        // The search index catches up within about half a second.
        await Api.PollAsync(async () =>
        {
            var found = await Client.GetJsonAsync($"{Api.Jobs}?q={Uri.EscapeDataString(word.ToUpperInvariant())}");
            return found.GetProperty("items").EnumerateArray().Select(j => j.Str("id")).SequenceEqual([marked]);
        }, TimeSpan.FromSeconds(30), () => $"a search for {word} to find {marked}");
        var byId = await Client.GetJsonAsync($"{Api.Jobs}?q={Uri.EscapeDataString(marked[..^2])}");
        Assert.Contains(marked, byId.GetProperty("items").EnumerateArray().Select(j => j.Str("id")));
        var syntax = await Client.GetJsonAsync($"{Api.Jobs}?q={Uri.EscapeDataString("\"" + word + "\" OR * NEAR( ' --")}");
        Assert.Empty(syntax.GetProperty("items").EnumerateArray());

        Assert.Equal((1L, 1L, 0L), await BulkAsync($$$"""{"action":"cancel","filter":{"q":"{{{word}}}"}}"""));
        Assert.Equal("cancelled", (await Client.GetJobAsync(marked)).Str("status"));
        Assert.Equal(3, await CountAsync(type, "queued"));

        using var tooLong = await Client.GetAsync($"{Api.Jobs}?q={new string('a', 1001)}");
        await Api.ExpectProblemAsync(tooLong, HttpStatusCode.BadRequest, "q");
        using var tooLongBulk = await Client.PostJsonAsync(Api.Jobs + "/bulk", $$$"""{"action":"retry","filter":{"q":"{{{new string('a', 1001)}}}"}}""");
        await Api.ExpectProblemAsync(tooLongBulk, HttpStatusCode.BadRequest, "filter.q");
    }

    [Fact]
    public async Task Sort_orders_the_listing_and_its_cursor_keeps_that_order_and_a_wrong_one_is_400()
    {
        var type = $"sort.{Guid.NewGuid():N}";
        foreach (var priority in new[] { 3, -1, 7, 0, 5 })
        {
            await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","priority":{{{priority}}}}""");
        }

        var first = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&sort=-priority&limit=2");
        var cursor = first.Str("next_cursor");
        var second = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&sort=-priority&limit=10&cursor={Uri.EscapeDataString(cursor)}");
        var priorities = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray()).Select(j => j.GetProperty("priority").GetInt32());
        Assert.Equal([7, 5, 3, 0, -1], priorities);

        var ascending = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&sort=priority");
        Assert.Equal([-1, 0, 3, 5, 7], ascending.GetProperty("items").EnumerateArray().Select(j => j.GetProperty("priority").GetInt32()));

        using (var bad = await Client.GetAsync($"{Api.Jobs}?sort=colour"))
        {
            await Api.ExpectProblemAsync(bad, HttpStatusCode.BadRequest, "sort");
        }

        using var mismatch = await Client.GetAsync($"{Api.Jobs}?type={type}&sort=updated&cursor={Uri.EscapeDataString(cursor)}");
        await Api.ExpectProblemAsync(mismatch, HttpStatusCode.BadRequest, "cursor");
    }
}
