using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// <c>GET /metrics</c> of the real server: the Prometheus text format parsed strictly, and counters, histograms and
/// gauges moving by exactly the work done through the API in between. The class has its own server; its tests run
/// one after another, so nothing else moves the figures.
/// </summary>
public sealed class MetricsTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    private const string Created = "jobkeeper_jobs_created_total";
    private const string Completed = "jobkeeper_jobs_completed_total";
    private const string Failed = "jobkeeper_jobs_failed_total";
    private const string Retried = "jobkeeper_jobs_retried_total";
    private const string QueueWait = "jobkeeper_job_queue_wait_seconds";
    private const string RunDuration = "jobkeeper_job_run_duration_seconds";
    private const string Requests = "http_server_request_duration_seconds";

    private static readonly (string Name, string Type)[] Families =
    [
        (Created, "counter"), (Completed, "counter"), (Failed, "counter"), (Retried, "counter"),
        ("jobkeeper_jobs", "gauge"),
        (QueueWait, "histogram"), (RunDuration, "histogram"),
        ("jobkeeper_cache_entries", "gauge"), ("jobkeeper_cache_hits_total", "counter"), ("jobkeeper_cache_misses_total", "counter"),
        ("jobkeeper_store_commit_batch_size", "histogram"), ("jobkeeper_store_commit_duration_seconds", "histogram"),
        (Requests, "histogram"),
    ];

    private async Task<PrometheusText> ScrapeAsync()
    {
        using var response = await Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    private static (string, string) T(string type) => ("type", type);

    [Fact]
    public async Task Metrics_are_valid_prometheus_text_with_every_required_family()
    {
        // Some traffic first, so that the HTTP and store families have series.
        await Client.CreateJobAsync($$"""{"type":"metrics.format.{{Guid.NewGuid():N}}"}""");
        await Client.GetJsonAsync("/health");
        var metrics = await ScrapeAsync();

        foreach (var (name, type) in Families)
        {
            Assert.True(metrics.Types.TryGetValue(name, out var declared), $"no family {name}; have {string.Join(", ", metrics.Types.Keys)}");
            Assert.Equal(type, declared);
            Assert.False(string.IsNullOrWhiteSpace(metrics.Help[name]));
        }

        var statuses = metrics.Samples.Where(s => s.Name == "jobkeeper_jobs").Select(s => s.Labels["status"]).Order().ToArray();
        Assert.Equal(["cancelled", "completed", "failed", "queued", "running", "waiting"], statuses);
        Assert.True(metrics.Sum("jobkeeper_store_commit_batch_size_count") >= 1, "no commit recorded");
        Assert.True(metrics.Sum(Requests + "_count", ("http_route", "/api/v1/jobs"), ("http_request_method", "POST"), ("http_response_status_code", "201")) >= 1);
    }

    [Fact]
    public async Task Label_values_are_escaped_and_read_back_exactly()
    {
        var type = $"metrics.\"quoted\\back\".{Guid.NewGuid():N}";
        await Client.CreateJobAsync(JsonSerializer.Serialize(new { type }));
        var metrics = await ScrapeAsync();
        Assert.Equal(1, metrics.Value(Created, T(type)));
    }

    [Fact]
    public async Task Counters_histograms_and_gauges_move_exactly_with_the_work()
    {
        var a = $"metrics.a.{Guid.NewGuid():N}";
        var b = $"metrics.b.{Guid.NewGuid():N}";
        var worker = $"w-metrics-{Guid.NewGuid():N}"[..20];
        var before = await ScrapeAsync();

        // a: three jobs — one completes, one fails for good, one fails and is queued for a retry.
        var a1 = (await Client.CreateJobAsync($$"""{"type":"{{a}}","max_attempts":3}""")).Str("id");
        var a2 = (await Client.CreateJobAsync($$"""{"type":"{{a}}","max_attempts":3}""")).Str("id");
        var a3 = (await Client.CreateJobAsync($$"""{"type":"{{a}}","max_attempts":3}""")).Str("id");
        // b: two jobs — one fails for good and is retried by hand, one stays queued.
        var b1 = (await Client.CreateJobAsync($$"""{"type":"{{b}}","max_attempts":1,"priority":5}""")).Str("id");
        await Client.CreateJobAsync($$"""{"type":"{{b}}","max_attempts":1}""");

        var claimedA = await Client.ClaimAsync(worker, a, max: 3);
        Assert.Equal(3, claimedA.Count);
        var byId = claimedA.ToDictionary(j => j.Str("id"), j => j.Token());
        await Client.ActionAsync(a1, "complete", WorkerApi.LeaseBody(byId[a1], ""","result":{"ok":true}"""));
        Assert.Equal("failed", (await Client.ActionAsync(a2, "fail", WorkerApi.LeaseBody(byId[a2], ""","error":{"message":"no"},"retry":false"""))).Str("status"));
        var requeued = await Client.ActionAsync(a3, "fail", WorkerApi.LeaseBody(byId[a3], ""","error":{"message":"again"}"""));
        Assert.Equal("queued", requeued.Str("status"));
        Assert.Equal(2, requeued.GetProperty("attempt").GetInt32());

        var itemB = await Client.ClaimOneAsync(worker, b);
        Assert.Equal(b1, itemB.Str("id"));
        Assert.Equal("failed", (await Client.ActionAsync(b1, "fail", WorkerApi.LeaseBody(itemB.Token(), ""","error":{"message":"b"}"""))).Str("status"));
        Assert.Equal("queued", (await Client.ControlAsync(b1, "retry")).Str("status"));

        // Cache reads: a finished job is read twice from memory.
        await Client.GetJobAsync(a1);
        await Client.GetJobAsync(a1);

        // ASP.NET Core records a request when it has finished, which can be a moment after the client has the answer.
        PrometheusText after = before;
        await Api.PollAsync(async () =>
        {
            after = await ScrapeAsync();
            return Delta(before, after, Requests + "_count", ("http_route", "/api/v1/jobs/{id}"), ("http_request_method", "GET"), ("http_response_status_code", "200")) >= 2;
        }, TimeSpan.FromSeconds(10), () => "the GET /api/v1/jobs/{id} requests were not counted");

        Assert.Equal(3, Delta(before, after, Created, T(a)));
        Assert.Equal(2, Delta(before, after, Created, T(b)));
        Assert.Equal(1, Delta(before, after, Completed, T(a)));
        Assert.Equal(0, Delta(before, after, Completed, T(b)));
        Assert.Equal(1, Delta(before, after, Failed, T(a)));
        Assert.Equal(1, Delta(before, after, Failed, T(b)));
        Assert.Equal(1, Delta(before, after, Retried, T(a)));
        Assert.Equal(1, Delta(before, after, Retried, T(b)));

        Assert.Equal(3, Delta(before, after, QueueWait + "_count", T(a)));
        Assert.Equal(1, Delta(before, after, QueueWait + "_count", T(b)));
        Assert.Equal(1, Delta(before, after, RunDuration + "_count", T(a), ("outcome", "completed")));
        Assert.Equal(1, Delta(before, after, RunDuration + "_count", T(a), ("outcome", "failed")));
        Assert.Equal(1, Delta(before, after, RunDuration + "_count", T(a), ("outcome", "retried")));
        Assert.Equal(1, Delta(before, after, RunDuration + "_count", T(b), ("outcome", "failed")));
        Assert.True(Delta(before, after, RunDuration + "_sum", T(a)) >= 0);

        // Exactly the requests made: five creates, two claims, four worker actions, one retry, two reads.
        (string, string)[] Route(string route, string method, string code) =>
            [("http_route", route), ("http_request_method", method), ("http_response_status_code", code)];
        Assert.Equal(5, Delta(before, after, Requests + "_count", Route("/api/v1/jobs", "POST", "201")));
        Assert.Equal(2, Delta(before, after, Requests + "_count", Route("/api/v1/workers/claim", "POST", "200")));
        Assert.Equal(1, Delta(before, after, Requests + "_count", Route("/api/v1/jobs/{id}/complete", "POST", "200")));
        Assert.Equal(3, Delta(before, after, Requests + "_count", Route("/api/v1/jobs/{id}/fail", "POST", "200")));
        Assert.Equal(1, Delta(before, after, Requests + "_count", Route("/api/v1/jobs/{id}/retry", "POST", "200")));
        Assert.Equal(2, Delta(before, after, Requests + "_count", Route("/api/v1/jobs/{id}", "GET", "200")));

        // Writes: 5 inserts, 2 claims (one operation each, however many jobs), 4 finishes, 1 retry — each in some committed batch.
        Assert.True(Delta(before, after, "jobkeeper_store_commit_batch_size_sum") >= 12, "fewer write operations committed than made");
        Assert.True(Delta(before, after, "jobkeeper_store_commit_duration_seconds_count") >= 1);
        Assert.True(Delta(before, after, "jobkeeper_cache_hits_total") >= 2, "the two reads were not cache hits");
        Assert.True(after.Sum("jobkeeper_cache_entries") >= 5);
    }

    [Fact]
    public async Task Job_counts_by_status_match_health()
    {
        var type = $"metrics.counts.{Guid.NewGuid():N}";
        await Client.CreateJobAsync($$"""{"type":"{{type}}"}""");
        var running = await Client.CreateJobAsync($$"""{"type":"{{type}}"}""");
        await Client.ClaimOneAsync("w-counts", type);

        // /health reads the counts now; a scrape right after uses those (they are at most a few seconds old).
        var health = await Client.GetJsonAsync("/health");
        var metrics = await ScrapeAsync();
        var byStatus = health.GetProperty("jobs_by_status");
        foreach (var status in new[] { "queued", "running", "waiting", "completed", "failed", "cancelled" })
        {
            var expected = byStatus.TryGetProperty(status, out var n) ? n.GetInt64() : 0;
            Assert.Equal(expected, metrics.Value("jobkeeper_jobs", ("status", status)));
        }

        Assert.True(metrics.Value("jobkeeper_jobs", ("status", "running")) >= 1, $"job {running.Str("id")} claimed but no running job counted");
        Assert.Equal(health.GetProperty("jobs_count").GetInt64(), metrics.Sum("jobkeeper_jobs"));
    }

    private static double Delta(PrometheusText before, PrometheusText after, string name, params (string Name, string Value)[] labels) =>
        after.Sum(name, labels) - before.Sum(name, labels);
}
