using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>Small HTTP and JSON helpers that put the response body into every assertion message.</summary>
public static class Api
{
    public const string Jobs = "/api/v1/jobs";

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, string json) =>
        client.PostAsync(path, Json(json));

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient client, string path, string json, string? ifMatch = null, string? actor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, path) { Content = Json(json) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        if (actor is not null)
        {
            request.Headers.Add("X-Actor", actor);
        }

        return client.SendAsync(request);
    }

    public static string JobPath(string id) => Jobs + "/" + Uri.EscapeDataString(id);

    /// <summary>Creates a job, asserting 201, and returns it.</summary>
    public static async Task<JsonElement> CreateJobAsync(this HttpClient client, string json)
    {
        using var response = await client.PostJsonAsync(Jobs, json);
        return await ExpectJsonAsync(response, HttpStatusCode.Created);
    }

    public static async Task<JsonElement> GetJobAsync(this HttpClient client, string id)
    {
        using var response = await client.GetAsync(JobPath(id));
        return await ExpectJsonAsync(response, HttpStatusCode.OK);
    }

    public static async Task<JsonElement> PatchJobAsync(this HttpClient client, string id, string json, string? ifMatch = null)
    {
        using var response = await client.PatchJsonAsync(JobPath(id), json, ifMatch);
        return await ExpectJsonAsync(response, HttpStatusCode.OK);
    }

    public static async Task<JsonElement> GetJsonAsync(this HttpClient client, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.GetAsync(path);
        return await ExpectJsonAsync(response, expected);
    }

    /// <summary>The number of jobs the server holds, from <c>GET /health</c>.</summary>
    public static async Task<long> JobsCountAsync(this HttpClient client) =>
        (await client.GetJsonAsync("/health")).GetProperty("jobs_count").GetInt64();

    public static async Task<JsonElement> ExpectJsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected,
            $"{Describe(response)}: expected {(int)expected} {expected}, got {(int)response.StatusCode} {response.StatusCode}. Body: {Shorten(body)}");
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            Assert.Fail($"{Describe(response)}: the body is not JSON ({ex.Message}): {Shorten(body)}");
            throw;
        }
    }

    /// <summary>
    /// Asserts an RFC 9457 problem: the status, Content-Type application/problem+json, a body whose
    /// <c>status</c> matches, and — when <paramref name="field"/> is given — that the problem names it
    /// (a key of <c>errors</c>, or in <c>detail</c>). Returns the problem body.
    /// </summary>
    public static async Task<JsonElement> ExpectProblemAsync(HttpResponseMessage response, HttpStatusCode expected, string? field = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        var what = $"{Describe(response)} -> {(int)response.StatusCode}, body: {Shorten(body)}";
        Assert.True(response.StatusCode == expected, $"expected {(int)expected} {expected}; {what}");
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json",
            $"expected Content-Type application/problem+json, got '{response.Content.Headers.ContentType}'; {what}");
        JsonElement problem;
        using (var document = JsonDocument.Parse(body))
        {
            problem = document.RootElement.Clone();
        }

        Assert.Equal(JsonValueKind.Object, problem.ValueKind);
        Assert.True(problem.TryGetProperty("status", out var status) && status.GetInt32() == (int)expected, $"problem.status wrong; {what}");
        Assert.True(problem.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String, $"problem.title missing; {what}");
        if (field is not null)
        {
            var named = problem.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object && errors.TryGetProperty(field, out _);
            named |= problem.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String
                && detail.GetString()!.Contains(field, StringComparison.Ordinal);
            Assert.True(named, $"the problem does not name the field '{field}'; {what}");
        }

        return problem;
    }

    public static string Str(this JsonElement element, string name) =>
        element.GetProperty(name).GetString() ?? throw new InvalidOperationException($"'{name}' is null in {element}");

    public static long Version(this JsonElement job) => job.GetProperty("version").GetInt64();

    public static string ETag(this HttpResponseMessage response) => response.Headers.ETag?.ToString() ?? "";

    /// <summary>Waits for <paramref name="condition"/> by polling until the deadline; never a fixed sleep for a result.</summary>
    public static async Task PollAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        var wait = TimeSpan.FromMilliseconds(10);
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"Condition not met within {timeout.TotalSeconds} s: {describe()}");
            }

            await Task.Delay(wait);
            wait = TimeSpan.FromMilliseconds(Math.Min(200, wait.TotalMilliseconds * 2));
        }
    }

    public static string Describe(HttpResponseMessage response) =>
        $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}";

    public static string Shorten(string text) => text.Length <= 1500 ? text : text[..1500] + "…";

    public static MediaTypeHeaderValue? ContentType(this HttpResponseMessage response) => response.Content.Headers.ContentType;
}
