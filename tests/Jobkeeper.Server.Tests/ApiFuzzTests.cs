using System.Globalization;
using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;
using Jobkeeper.Server.Tests.Infrastructure.Fuzz;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Requests generated from the running server's own <c>/openapi/v1.json</c> for every operation it lists: wrong types,
/// extreme numbers, deep nesting, huge strings, Unicode, missing and extra fields, broken JSON, odd path ids, query
/// values and headers. No answer may be a 5xx (bad input is never the server's fault), every 4xx is problem details,
/// and what was accepted can still be read. The seed is printed; set JOBKEEPER_FUZZ_SEED to repeat a run exactly
/// (JOBKEEPER_FUZZ_REQUESTS changes how many requests are sent).
/// </summary>
public sealed class ApiFuzzTests(ITestOutputHelper output)
{
    private const int Parallelism = 16;
    private const int Requests = 10_240;
    private const int RequestsWithKeys = 2_048;

    [Fact]
    public async Task Generated_requests_for_every_operation_get_no_5xx_and_every_4xx_is_problem_json()
    {
        await using var server = await ServerProcess.StartAsync();
        await FuzzAsync(server, Count(Requests), credentials: null, adminKey: null);
    }

    [Fact]
    public async Task With_api_keys_on_generated_requests_get_no_5xx_and_every_4xx_is_problem_json()
    {
        var keys = AccessKeys.NewKeyPerRole();
        await using var server = await ServerProcess.StartAsync(prepareWorkingDirectory: AccessKeys.WriteSettings(
            [("fuzz-admin", keys["admin"], ["admin"]), ("fuzz-read", keys["read"], ["read"])]));
        await FuzzAsync(server, Count(RequestsWithKeys), new FuzzCredentials(keys["admin"], keys["read"]), keys["admin"]);
    }

    private async Task FuzzAsync(ServerProcess server, int count, FuzzCredentials? credentials, string? adminKey)
    {
        var seed = Seed();
        var document = await server.Client.GetJsonAsync("/openapi/v1.json");
        var operations = ApiOperation.FromDocument(document);
        Assert.True(operations.Count >= 20, $"the document lists only {operations.Count} operations");

        async Task<(HttpStatusCode, string)> Send(HttpMethod method, string path, string? body)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Api.Json(body) }.WithKey(adminKey);
            using var response = await server.Client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var fixtures = await FuzzFixtures.CreateAsync(Send);
        var generator = new RequestGenerator(new BodyMutator(new SchemaValues(document, fixtures)), fixtures, seed, credentials);
        var started = DateTime.UtcNow;
        var report = await FuzzRunner.RunAsync(server.BaseAddress, operations, generator, count, Parallelism);
        output.WriteLine(report.Summary + (credentials is null ? "" : " (API keys on)"));
        output.WriteLine($"{Parallelism} connections, {(DateTime.UtcNow - started).TotalSeconds:0.0} s; answers by operation:");
        output.WriteLine(report.Statuses());

        var unreadable = await UnreadableAfterwardsAsync(Send);
        Assert.True(report.ServerErrors == 0 && report.BadProblems == 0 && report.Unanswered == 0,
            $"{report.Summary}\n{report.Failures()}\n{server.FailureLines()}");
        Assert.True(unreadable.Count == 0, "after the run, reads fail:\n" + string.Join("\n", unreadable.Take(10)) + "\n" + server.FailureLines());
    }

    /// <summary>Whatever the run got accepted can be read back: every page of the listing, every fixture and its history, and health.</summary>
    private static async Task<List<string>> UnreadableAfterwardsAsync(Func<HttpMethod, string, string?, Task<(HttpStatusCode Status, string Body)>> send)
    {
        var failures = new List<string>();
        async Task<string?> Read(string path, params HttpStatusCode[] expected)
        {
            var (status, body) = await send(HttpMethod.Get, path, null);
            if (!expected.Contains(status))
            {
                failures.Add($"GET {path} -> {(int)status}: {Api.Shorten(body)}");
                return null;
            }

            return body;
        }

        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Read(Api.Jobs + "?limit=200" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), HttpStatusCode.OK);
            if (page is null)
            {
                break;
            }

            using var document = JsonDocument.Parse(page);
            var next = document.RootElement.GetProperty("next_cursor");
            cursor = next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null && ++pages < 1000);

        foreach (var status in new[] { "queued", "running", "waiting", "completed", "failed", "cancelled" })
        {
            await Read($"{Api.Jobs}?status={status}&limit=1000", HttpStatusCode.OK);
        }

        foreach (var prefix in new[] { "fz-queued-0", "fz-running-0", "fz-waiting-0", "fz-done-0", "fz-failed-0" })
        {
            await Read(Api.JobPath(prefix), HttpStatusCode.OK, HttpStatusCode.NotFound);
            await Read(Api.JobPath(prefix) + "/events?limit=1000", HttpStatusCode.OK, HttpStatusCode.NotFound);
        }

        await Read("/health", HttpStatusCode.OK);
        return failures;
    }

    private int Seed()
    {
        var text = Environment.GetEnvironmentVariable("JOBKEEPER_FUZZ_SEED");
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed : Random.Shared.Next(1, 1_000_000);
    }

    private static int Count(int fallback)
    {
        var text = Environment.GetEnvironmentVariable("JOBKEEPER_FUZZ_REQUESTS");
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0 ? count : fallback;
    }
}
