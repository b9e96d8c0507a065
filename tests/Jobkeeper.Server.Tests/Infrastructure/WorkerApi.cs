using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>The external-worker routes (claim, heartbeat, progress, complete, fail, release) and cancel/retry, asserting as they go.</summary>
public static class WorkerApi
{
    public const string ClaimPath = "/api/v1/workers/claim";
    public const string LeaseLostType = "https://jobkeeper.dev/problems/lease-lost";

    /// <summary>The members of every claimed job.</summary>
    public static readonly string[] WorkItemFields =
    [
        "id", "type", "input", "labels", "priority", "attempt", "max_attempts", "progress", "created_at", "run_at", "version",
        "lease_token", "lease_expires_at",
    ];

    public static string ClaimBody(string workerId, string type, int max = 1, int leaseSeconds = 60, double waitSeconds = 0) =>
        $$"""{"worker_id":"{{workerId}}","types":["{{type}}"],"max":{{max}},"lease_seconds":{{leaseSeconds}},"wait_seconds":{{waitSeconds.ToString(CultureInfo.InvariantCulture)}}}""";

    /// <summary>Claims with the given body, asserting 200 and <c>{"jobs":[...]}</c>; returns the jobs.</summary>
    public static async Task<List<JsonElement>> ClaimAsync(this HttpClient client, string body)
    {
        using var response = await client.PostJsonAsync(ClaimPath, body);
        var answer = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        Assert.True(answer.TryGetProperty("jobs", out var jobs) && jobs.ValueKind == JsonValueKind.Array, $"no jobs array in {answer}");
        return [.. jobs.EnumerateArray()];
    }

    public static Task<List<JsonElement>> ClaimAsync(this HttpClient client, string workerId, string type, int max = 1, int leaseSeconds = 60, double waitSeconds = 0) =>
        client.ClaimAsync(ClaimBody(workerId, type, max, leaseSeconds, waitSeconds));

    /// <summary>Claims and asserts exactly one job came back.</summary>
    public static async Task<JsonElement> ClaimOneAsync(this HttpClient client, string workerId, string type, int leaseSeconds = 60, double waitSeconds = 0)
    {
        var jobs = await client.ClaimAsync(workerId, type, 1, leaseSeconds, waitSeconds);
        Assert.True(jobs.Count == 1, $"expected one claimed job of type {type}, got {jobs.Count}: {string.Join(", ", jobs)}");
        return jobs[0];
    }

    public static string Token(this JsonElement workItem) => workItem.Str("lease_token");

    public static string LeaseBody(string token, string extra = "") => $$"""{"lease_token":"{{token}}"{{extra}}}""";

    public static Task<HttpResponseMessage> PostActionAsync(this HttpClient client, string id, string action, string json) =>
        client.PostJsonAsync(Api.JobPath(id) + "/" + action, json);

    /// <summary>POSTs to <c>/jobs/{id}/{action}</c>, asserting 200; returns the body.</summary>
    public static async Task<JsonElement> ActionAsync(this HttpClient client, string id, string action, string json)
    {
        using var response = await client.PostActionAsync(id, action, json);
        return await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
    }

    /// <summary>POST cancel or retry (no body; optional X-Actor).</summary>
    public static Task<HttpResponseMessage> PostControlAsync(this HttpClient client, string id, string action, string? actor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Api.JobPath(id) + "/" + action);
        if (actor is not null)
        {
            request.Headers.Add("X-Actor", actor);
        }

        return client.SendAsync(request);
    }

    public static async Task<JsonElement> ControlAsync(this HttpClient client, string id, string action, string? actor = null)
    {
        using var response = await client.PostControlAsync(id, action, actor);
        var job = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        Assert.Equal($"\"{job.Version()}\"", response.ETag());
        return job;
    }

    /// <summary>Asserts 409 with the lease-lost problem type; returns the problem.</summary>
    public static async Task<JsonElement> ExpectLeaseLostAsync(HttpResponseMessage response)
    {
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Equal(LeaseLostType, problem.Str("type"));
        return problem;
    }

    public static async Task<List<JsonElement>> EventsAsync(this HttpClient client, string id)
    {
        var body = await client.GetJsonAsync(Api.JobPath(id) + "/events?limit=1000");
        return [.. body.GetProperty("items").EnumerateArray()];
    }

    /// <summary>The status_changed events, as "from→to" with their actor.</summary>
    public static IEnumerable<JsonElement> StatusChanges(this IEnumerable<JsonElement> events) =>
        events.Where(e => e.Str("type") == "status_changed");

    public static DateTimeOffset Time(this JsonElement element, string name) =>
        DateTimeOffset.Parse(element.Str(name), CultureInfo.InvariantCulture);

    public static bool IsNull(this JsonElement element, string name) =>
        element.GetProperty(name).ValueKind == JsonValueKind.Null;
}
