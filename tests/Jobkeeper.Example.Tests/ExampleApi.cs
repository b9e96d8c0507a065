using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Jobkeeper.Example.Tests;

/// <summary>The HTTP calls the tests make on the example app: start an analysis or a review, list jobs, read a job's history.</summary>
internal static class ExampleApi
{
    public const string JobType = "audio.analyze";

    public static readonly string[] Terminal = ["completed", "failed", "cancelled"];

    public static Task<(string JobId, string StatusUrl, string EventsUrl)> StartAnalysisAsync(ExampleAppProcess app, string file) =>
        StartAsync(app, "/analyze", file);

    /// <summary>Starts an <c>audio.review</c> job (<c>POST /review</c>).</summary>
    public static Task<(string JobId, string StatusUrl, string EventsUrl)> StartReviewAsync(ExampleAppProcess app, string file) =>
        StartAsync(app, "/review", file);

    private static async Task<(string JobId, string StatusUrl, string EventsUrl)> StartAsync(ExampleAppProcess app, string path, string file)
    {
        using var response = await app.Http.PostAsJsonAsync(path, new { file, user = "tests" });
        var body = await response.Content.ReadFromJsonAsync<JsonNode>();
        Assert.True(HttpStatusCode.Accepted == response.StatusCode, $"POST {path}: {(int)response.StatusCode} {body?.ToJsonString()}");

        var jobId = (string?)body?["job_id"];
        var statusUrl = (string?)body?["status_url"];
        var eventsUrl = (string?)body?["events_url"];
        Assert.False(string.IsNullOrEmpty(jobId));
        Assert.Equal($"/api/v1/jobs/{jobId}", statusUrl);
        Assert.Equal($"/api/v1/jobs/{jobId}/events", eventsUrl);
        Assert.Equal(statusUrl, response.Headers.Location?.OriginalString);
        Assert.Equal("queued", (string?)body?["status"]);
        return (jobId!, statusUrl!, eventsUrl!);
    }

    /// <summary>The URL listing up to <paramref name="limit"/> analysis jobs in the given statuses (comma-separated; all when null).</summary>
    public static string ListUrl(string? statuses = null, int limit = 1000) =>
        $"/api/v1/jobs?type={JobType}&limit={limit}" + (statuses is null ? "" : $"&status={statuses}");

    public static JsonArray Items(JsonNode page) => page["items"]?.AsArray() ?? throw new Xunit.Sdk.XunitException($"No items in {page.ToJsonString()}");

    public static async Task<JsonArray> ListAsync(ExampleAppProcess app, string? statuses = null)
    {
        var url = ListUrl(statuses);
        var page = await app.Http.GetFromJsonAsync<JsonNode>(url) ?? throw new Xunit.Sdk.XunitException($"GET {url} returned no JSON.");
        Assert.Null((string?)page["next_cursor"]);
        return Items(page);
    }

    public static async Task<JsonArray> EventsAsync(ExampleAppProcess app, string eventsUrl)
    {
        var page = await app.Http.GetFromJsonAsync<JsonNode>(eventsUrl);
        return page?["items"]?.AsArray() ?? throw new Xunit.Sdk.XunitException($"GET {eventsUrl} returned no items.");
    }

    public static List<string> StatusChanges(JsonArray events) =>
        events.Where(e => (string?)e?["type"] == "status_changed")
            .Select(e => $"{(string?)e?["data"]?["from"]}→{(string?)e?["data"]?["to"]}")
            .ToList();

    /// <summary>The reason recorded on each status change, in order (null where none).</summary>
    public static List<string?> StatusChangeReasons(JsonArray events) =>
        events.Where(e => (string?)e?["type"] == "status_changed").Select(e => (string?)e?["data"]?["reason"]).ToList();

    public static List<string> EventTypes(JsonArray events) => events.Select(e => (string)e!["type"]!).ToList();
}
