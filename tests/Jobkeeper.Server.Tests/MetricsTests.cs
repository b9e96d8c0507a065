using System.Net;
using System.Text.RegularExpressions;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// <c>GET /metrics</c> of the real server, end to end: after work that moves every Jobkeeper series, each series of the table
/// in docs/operations.md ("Metrics") is served under its documented name and type. What the figures count is tested on the
/// instruments themselves (Jobkeeper.Sqlite.Tests, <c>TelemetryTests</c>, with <c>MetricCollector</c>).
/// </summary>
public sealed partial class MetricsTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    [GeneratedRegex(@"^\| `(?<name>[a-z_]+)` \| (?<type>counter|gauge|histogram) \|", RegexOptions.Multiline)]
    private static partial Regex SeriesRow();

    /// <summary>The rows of the series table of docs/operations.md: name and type.</summary>
    private static List<(string Name, string Type)> DocumentedSeries()
    {
        var docs = File.ReadAllText(Path.Combine(ServerProcess.RepositoryRoot(), "docs", "operations.md"));
        return [.. SeriesRow().Matches(docs).Select(m => (m.Groups["name"].Value, m.Groups["type"].Value))];
    }

    [Fact]
    public async Task Every_documented_series_is_served_with_its_type()
    {
        var type = $"metrics.{Guid.NewGuid():N}";
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await Client.CreateJobAsync($$"""{"type":"{{type}}","max_attempts":3}""")).Str("id"));
        }

        // One completes, one fails for good, one fails and is queued for a retry, one's lease runs out.
        var claimed = (await Client.ClaimAsync("w-metrics", type, max: 3)).ToDictionary(j => j.Str("id"), j => j.Token());
        var (done, failed, retried) = (claimed.Keys.ElementAt(0), claimed.Keys.ElementAt(1), claimed.Keys.ElementAt(2));
        await Client.ActionAsync(done, "complete", WorkerApi.LeaseBody(claimed[done]));
        await Client.ActionAsync(failed, "fail", WorkerApi.LeaseBody(claimed[failed], ""","error":{"message":"no"},"retry":false"""));
        await Client.ActionAsync(retried, "fail", WorkerApi.LeaseBody(claimed[retried], ""","error":{"message":"again"}"""));
        var abandoned = await Client.ClaimOneAsync("w-gone", type, leaseSeconds: 1);
        await Api.PollAsync(async () => (await Client.GetJobAsync(abandoned.Str("id"))).Str("status") == "queued", TimeSpan.FromSeconds(30),
            () => "the abandoned lease was not reaped");
        await Client.GetJobAsync(done);
        // A queue with a limit and a rate limit, so that their series are served.
        var queue = $"metrics-{Guid.NewGuid():N}";
        await Client.CreateJobAsync($$"""{"type":"{{type}}.queued","queue":"{{queue}}"}""");
        using (var limits = await Client.PatchJsonAsync($"/api/v1/queues/{queue}", """{"concurrency_limit":2,"rate_limit":{"count":5,"period_seconds":60}}"""))
        {
            await Api.ExpectJsonAsync(limits, HttpStatusCode.OK);
        }

        // A create answered with the existing job, and a schedule's extra run: their counters are served once they count.
        var key = Guid.NewGuid().ToString("N");
        await Client.CreateJobAsync($$"""{"type":"{{type}}.unique","unique_key":"{{key}}"}""");
        using (var again = await Client.PostJsonAsync(Api.Jobs, $$"""{"type":"{{type}}.unique","unique_key":"{{key}}"}"""))
        {
            await Api.ExpectJsonAsync(again, HttpStatusCode.OK);
        }

        var schedule = $"metrics-{Guid.NewGuid():N}";
        using (var created = await Client.PostJsonAsync("/api/v1/schedules", $$$"""{"name":"{{{schedule}}}","interval_seconds":3600,"job":{"type":"{{{type}}}.scheduled"}}"""))
        {
            await Api.ExpectJsonAsync(created, HttpStatusCode.Created);
        }

        using (var triggered = await Client.PostAsync($"/api/v1/schedules/{schedule}/trigger", null))
        {
            await Api.ExpectJsonAsync(triggered, HttpStatusCode.OK);
        }

        // A bulk action that changes one job, so that its counter is served.
        using (var bulk = await Client.PostJsonAsync(Api.Jobs + "/bulk", $$$"""{"action":"cancel","filter":{"type":"{{{type}}}.unique"}}"""))
        {
            await Api.ExpectJsonAsync(bulk, HttpStatusCode.OK);
        }

        var documented = DocumentedSeries();
        string[] lines = [];
        // The queue series are read at most every 5 s: the new queue's may take one more scrape.
        await Api.PollAsync(async () =>
        {
            using var response = await Client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            lines = (await response.Content.ReadAsStringAsync()).Split('\n');
            return documented.All(series => lines.Contains($"# TYPE {series.Name} {series.Type}"));
        }, TimeSpan.FromSeconds(20), () => "documented series missing: " + string.Join(", ", documented.Where(series => !lines.Contains($"# TYPE {series.Name} {series.Type}"))));

        Assert.True(documented.Count >= 15, $"the series table of docs/operations.md has {documented.Count} rows");
        Assert.All(documented, series => Assert.Contains($"# TYPE {series.Name} {series.Type}", lines));
        Assert.Contains(lines, l => l.StartsWith("jobkeeper_jobs_created_total{", StringComparison.Ordinal) && l.Contains($"type=\"{type}\"") && l.EndsWith(" 4"));
        Assert.Contains(lines, l => l.StartsWith("jobkeeper_jobs_create_existing_total{", StringComparison.Ordinal) && l.Contains("outcome=\"existing\"")
            && l.Contains($"type=\"{type}.unique\"") && l.EndsWith(" 1"));
        Assert.Contains(lines, l => l.StartsWith("jobkeeper_schedule_fires_total{", StringComparison.Ordinal) && l.Contains("outcome=\"triggered\"")
            && l.Contains($"schedule=\"{schedule}\"") && l.EndsWith(" 1"));
    }
}
