using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobkeeper.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// The OpenAPI document is good enough to drive the API from: every operation's own example (body, query and path
/// parameters, as Swagger's "Try it out" sends them) gets the success status the document names, from a real server.
/// </summary>
public sealed class OpenApiExampleTests(ServerFixture fixture, ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task Every_operation_example_gets_its_documented_success()
    {
        var document = await Client.GetJsonAsync("/openapi/v1.json");
        var failures = new List<string>();
        var exercised = 0;
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var method in path.Value.EnumerateObject())
            {
                var operation = method.Value;
                var name = operation.Str("operationId");
                // A create documents 201 and the 200 of a duplicate: either is the example's success.
                var successes = operation.GetProperty("responses").EnumerateObject().Select(r => r.Name).Where(s => s.StartsWith('2')).ToList();
                var expected = string.Join(" or ", successes.Order());
                var body = Example(operation);
                var queue = PathExample(operation, "name");
                var (id, token) = await PrerequisiteAsync(name, path.Name, body, queue);
                if (token is not null && body is JsonObject withLease && withLease.ContainsKey("lease_token"))
                {
                    withLease["lease_token"] = token;
                }

                using var request = new HttpRequestMessage(new HttpMethod(method.Name.ToUpperInvariant()),
                    path.Name.Replace("{id}", Uri.EscapeDataString(id ?? ""), StringComparison.Ordinal)
                        .Replace("{name}", Uri.EscapeDataString(queue ?? ""), StringComparison.Ordinal) + Query(operation))
                {
                    Content = body is null ? null : new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
                };
                // Event streams never end: their status line is the answer.
                using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                exercised++;
                if (!successes.Contains(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)))
                {
                    var text = response.Content.Headers.ContentType?.MediaType == "text/event-stream" ? "" : await response.Content.ReadAsStringAsync();
                    failures.Add($"{name} {request.Method} {request.RequestUri}: {(int)response.StatusCode}, documented {expected}; {Api.Shorten(text)}");
                }
            }
        }

        output.WriteLine($"openapi examples: {exercised} operations exercised, {failures.Count} failed");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(exercised >= 20, $"only {exercised} operations in the document");
    }

    /// <summary>The example of a path parameter, as the document gives it (null when it has none).</summary>
    private static string? PathExample(JsonElement operation, string parameter) =>
        operation.TryGetProperty("parameters", out var parameters)
            ? parameters.EnumerateArray().Where(p => p.Str("in") == "path" && p.Str("name") == parameter && p.TryGetProperty("example", out _))
                .Select(p => p.GetProperty("example").GetString()).FirstOrDefault()
            : null;

    /// <summary>The operation's request body example, as a mutable node (null when it takes no body).</summary>
    private static JsonNode? Example(JsonElement operation) =>
        operation.TryGetProperty("requestBody", out var body) && body.GetProperty("content").GetProperty("application/json").TryGetProperty("example", out var example)
            ? JsonNode.Parse(example.GetRawText())
            : null;

    /// <summary>The query string made of the examples of the query parameters (an array example: the parameter repeated).</summary>
    private static string Query(JsonElement operation)
    {
        var pairs = new List<string>();
        if (operation.TryGetProperty("parameters", out var parameters))
        {
            foreach (var parameter in parameters.EnumerateArray())
            {
                if (parameter.Str("in") != "query" || !parameter.TryGetProperty("example", out var example))
                {
                    continue;
                }

                var values = example.ValueKind == JsonValueKind.Array ? example.EnumerateArray().ToList() : [example];
                pairs.AddRange(values.Select(v => parameter.Str("name") + "=" + Uri.EscapeDataString(v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText())));
            }
        }

        return pairs.Count == 0 ? "" : "?" + string.Join("&", pairs);
    }

    /// <summary>
    /// The job the operation acts on, in the state it needs: claimed (its body takes a lease token), waiting on a prompt
    /// (to read or answer it), cancelled (to retry it), else just queued. Each operation gets a fresh job of its own type.
    /// </summary>
    private async Task<(string? Id, string? Token)> PrerequisiteAsync(string operation, string path, JsonNode? body, string? queue)
    {
        if (path.StartsWith("/api/v1/schedules/{name}", StringComparison.Ordinal))
        {
            // The schedule routes act on a schedule that exists (the create example's; made again after the delete example).
            using var create = await Client.PostJsonAsync("/api/v1/schedules",
                $$$"""{"name":"{{{queue}}}","interval_seconds":3600,"job":{"type":"e2e.openapi.{{{operation}}}"}}""");
            Assert.True(create.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, await create.Content.ReadAsStringAsync());
            return (null, null);
        }

        if (path.Contains("{name}", StringComparison.Ordinal))
        {
            // The queue routes act on a queue that exists: it has a job.
            Assert.True(queue is not null, $"{operation} has no example of its path parameter 'name'");
            await Client.CreateJobAsync($$"""{"type":"e2e.openapi.{{operation}}","queue":"{{queue}}"}""");
            return (null, null);
        }

        if (!path.Contains("{id}", StringComparison.Ordinal))
        {
            return (null, null);
        }

        var type = $"e2e.openapi.{operation}.{Guid.NewGuid():N}";
        var created = await Client.CreateJobAsync($$"""{"type":"{{type}}"}""");
        var id = created.Str("id");
        if (operation == "RetryJob")
        {
            using var cancel = await Client.PostAsync(Api.JobPath(id) + "/cancel", null);
            await Api.ExpectJsonAsync(cancel, HttpStatusCode.OK);
            return (id, null);
        }

        var waiting = operation is "AnswerPrompt" or "GetOpenPrompt";
        if (!waiting && body?["lease_token"] is null)
        {
            return (id, null);
        }

        var item = await Client.ClaimOneAsync("openapi-examples", type);
        if (waiting)
        {
            await Client.ActionAsync(id, "prompt",
                $$"""{"lease_token":"{{item.Token()}}","key":"review","question":"Publish?","options":["approve","reject"]}""");
        }

        return (id, item.Token());
    }
}
