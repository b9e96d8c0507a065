using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Who changed a job and why, as its history records it. Behind API keys the actor is the key's name whatever the
/// caller says, and what the caller says (X-Actor, answered_by) is kept beside it as a display name; X-Reason (and an
/// answer's reason) is the why. Without keys X-Actor names the actor. The CLI says both with --actor and --reason.
/// </summary>
public sealed class AuditTrailTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Behind_keys_the_actor_is_the_key_and_what_the_caller_says_is_only_a_display_name()
    {
        var keys = AccessKeys.NewKeyPerRole();
        await using var server = await ServerProcess.StartAsync(prepareWorkingDirectory: AccessKeys.WriteSettings(
        [
            ("ops-key", keys["submit"], ["submit", "read"]),
            ("answer-key", keys["answer"], ["answer", "read"]),
            ("worker-key", keys["work"], ["work"]),
            ("admin-key", keys["admin"], ["admin"]),
        ]));
        var http = server.Client;
        var ops = keys["submit"];
        var type = $"audit.{Guid.NewGuid():N}";

        var created = await SendAsync(http, HttpMethod.Post, Api.Jobs, ops, actor: "Alice", body: $$"""{"type":"{{type}}"}""");
        var id = created.Str("id");

        // Alice says she is the answer key: she is still recorded as the ops key, her words beside it.
        await SendAsync(http, HttpMethod.Post, Api.JobPath(id) + "/cancel", ops, actor: "answer-key", reason: "customer asked to stop");
        await SendAsync(http, HttpMethod.Post, Api.JobPath(id) + "/retry", ops, actor: "%C5%81ukasz%20N.", reason: "customer changed their mind");
        await SendAsync(http, new HttpMethod("PATCH"), Api.JobPath(id), ops, reason: "tag for the report", body: """{"labels":{"report":"q3"}}""");

        var events = await EventsAsync(http, id, ops);
        var createdEvent = events.Single(e => e.Str("type") == "created");
        AssertBy(createdEvent, "ops-key", "Alice", null);
        var cancelled = events.Single(e => e.Str("type") == "status_changed" && e.GetProperty("data").Str("to") == "cancelled");
        AssertBy(cancelled, "ops-key", "answer-key", "customer asked to stop");
        Assert.Equal("cancelled", cancelled.GetProperty("data").Str("reason")); // the rule's own reason stays in data
        AssertBy(events.Single(e => e.Str("type") == "retried"), "ops-key", "Łukasz N.", "customer changed their mind");
        AssertBy(events.Single(e => e.Str("type") == "updated"), "ops-key", null, "tag for the report");

        // A prompt answered under the answer key, by someone calling themselves Bob: the key answered, Bob is a display name.
        var item = await ClaimOneAsync(http, keys["work"], "w-audit", type);
        using (var ask = new HttpRequestMessage(HttpMethod.Post, Api.JobPath(id) + "/prompt")
        {
            Content = Api.Json(WorkerApi.LeaseBody(item.Token(), ""","key":"approve","question":"Ship it?","options":["yes","no"]""")),
        }.WithKey(keys["work"]))
        using (var asked = await http.SendAsync(ask))
        {
            await Api.ExpectJsonAsync(asked, HttpStatusCode.OK);
        }

        var answered = await SendAsync(http, HttpMethod.Post, Api.JobPath(id) + "/prompt/response", keys["answer"],
            body: """{"answer":"yes","answered_by":"Bob","reason":"checked the mix"}""");
        var prompt = answered.GetProperty("prompts")[0];
        Assert.Equal("answer-key", prompt.Str("answered_by"));
        Assert.Equal("Bob", prompt.Str("answered_by_display_name"));
        Assert.Equal("checked the mix", prompt.Str("reason"));
        var answerEvent = (await EventsAsync(http, id, ops)).Single(e => e.Str("type") == "prompt_answered");
        AssertBy(answerEvent, "answer-key", "Bob", "checked the mix");

        // Delete takes the history with it: who and why go to the server's log.
        using (var delete = new HttpRequestMessage(HttpMethod.Delete, Api.JobPath(id)).WithKey(keys["admin"]))
        {
            delete.Headers.Add("X-Actor", "Carol");
            delete.Headers.Add("X-Reason", "test%20data");
            using var deleted = await http.SendAsync(delete);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await Api.PollAsync(() => Task.FromResult(server.RecentLines.Any(l => l.Contains($"Job {id} deleted by admin-key", StringComparison.Ordinal)
                && l.Contains("Carol", StringComparison.Ordinal) && l.Contains("test data", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), () => "the delete was not logged with who and why:\n" + server.Output);

        // The API document lists the two headers on the routes that read them.
        var document = await http.GetJsonAsync("/openapi/v1.json");
        var parameters = document.GetProperty("paths").GetProperty("/api/v1/jobs/{id}/cancel").GetProperty("post").GetProperty("parameters");
        var names = parameters.EnumerateArray().Select(p => p.Str("name")).ToList();
        Assert.Contains("X-Actor", names);
        Assert.Contains("X-Reason", names);
    }

    [Fact]
    public async Task Without_keys_X_Actor_names_the_actor_and_X_Reason_says_why()
    {
        var id = (await Client.CreateJobAsync($$"""{"type":"audit.open.{{Guid.NewGuid():N}}"}""")).Str("id");
        using (var cancel = new HttpRequestMessage(HttpMethod.Post, Api.JobPath(id) + "/cancel"))
        {
            cancel.Headers.Add("X-Actor", "alice");
            cancel.Headers.Add("X-Reason", "duplicate%20of%20another%20job");
            using var response = await Client.SendAsync(cancel);
            await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        }

        var events = await Client.EventsAsync(id);
        AssertBy(events.Single(e => e.Str("type") == "created"), "app", null, null);
        AssertBy(events.StatusChanges().Last(), "alice", null, "duplicate of another job");
    }

    [Theory]
    [InlineData("X-Reason", 2001, "at most 2000 characters")]
    [InlineData("X-Actor", 201, "at most 200 characters")]
    [InlineData("X-Reason", 0, "control characters")]
    public async Task A_bad_actor_or_reason_header_is_refused_and_changes_nothing(string header, int length, string expected)
    {
        var id = (await Client.CreateJobAsync($$"""{"type":"audit.bad.{{Guid.NewGuid():N}}"}""")).Str("id");
        using var cancel = new HttpRequestMessage(HttpMethod.Post, Api.JobPath(id) + "/cancel");
        cancel.Headers.TryAddWithoutValidation(header, length == 0 ? "line%0Abreak" : new string('r', length));
        using var response = await Client.SendAsync(cancel);
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, header);
        Assert.Contains(expected, problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal("queued", (await Client.GetJobAsync(id)).Str("status"));
    }

    [Fact]
    public async Task The_cli_says_who_and_why_with_actor_and_reason()
    {
        var url = Fixture.Server.BaseAddress.ToString().TrimEnd('/');
        var type = $"audit.cli.{Guid.NewGuid():N}";
        var id = (await Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");

        var cancel = await CliRunner.RunAsync("jobs", "cancel", id, "--actor", "Zoë", "--reason", "wrong input file", "--server", url);
        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        var retry = await CliRunner.RunAsync("jobs", "retry", id, "--actor", "Zoë", "--reason", "input fixed", "--server", url);
        Assert.True(retry.ExitCode == 0, retry.ToString());

        var events = await Client.EventsAsync(id);
        AssertBy(events.Single(e => e.Str("type") == "status_changed" && e.GetProperty("data").Str("to") == "cancelled"), "Zoë", null, "wrong input file");
        AssertBy(events.Single(e => e.Str("type") == "retried"), "Zoë", null, "input fixed");

        var item = await Client.ClaimOneAsync("w-cli-audit", type);
        await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), ""","key":"go","question":"Go?","options":["go","stop"]"""));
        var answer = await CliRunner.RunAsync("jobs", "answer", id, "--answer", "go", "--actor", "Zoë", "--reason", "all clear", "--server", url);
        Assert.True(answer.ExitCode == 0, answer.ToString());
        var prompt = (await Client.GetJobAsync(id)).GetProperty("prompts")[0];
        Assert.Equal("Zoë", prompt.Str("answered_by"));
        Assert.Equal("all clear", prompt.Str("reason"));

        var delete = await CliRunner.RunAsync("jobs", "delete", id, "--actor", "Zoë", "--reason", "cleanup", "--server", url);
        Assert.True(delete.ExitCode == 0, delete.ToString());
        await Api.PollAsync(() => Task.FromResult(Fixture.Server.RecentLines.Any(l => l.Contains($"Job {id} deleted by Zoë", StringComparison.Ordinal)
                && l.Contains("cleanup", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10), () => "the delete was not logged with who and why:\n" + Fixture.Server.Output);
    }

    [Fact]
    public async Task Keys_remove_takes_a_key_out_of_the_file_and_the_server_refuses_it_once_restarted()
    {
        using var dir = new TempDirectory("jobkeeper-keys");
        var file = dir.File("appsettings.json");
        var leaving = await CliRunner.RunInAsync(dir.Path, CliTimeout, "keys", "add", "--name", "leaving", "--role", "read", "--file", file);
        Assert.True(leaving.ExitCode == 0, leaving.ToString());
        var staying = await CliRunner.RunInAsync(dir.Path, CliTimeout, "keys", "add", "--name", "staying", "--role", "read", "--file", file);
        Assert.True(staying.ExitCode == 0, staying.ToString());
        var leavingKey = leaving.Stdout.Trim();
        var stayingKey = staying.Stdout.Trim();

        string? work = null;
        await using (var before = await ServerProcess.StartAsync(prepareWorkingDirectory: w =>
        {
            work = w;
            File.Copy(file, Path.Combine(w, "appsettings.json"));
        }))
        {
            Assert.Equal(HttpStatusCode.OK, await ReadStatusAsync(before, leavingKey));

            // Removed while the server runs: it keeps the keys it started with until it restarts.
            var removed = await CliRunner.RunInAsync(dir.Path, CliTimeout, "keys", "remove", "--name", "leaving", "--file", Path.Combine(work!, "appsettings.json"));
            Assert.True(removed.ExitCode == 0, removed.ToString());
            Assert.Contains("Key 'leaving' removed", removed.Stdout, StringComparison.Ordinal);
            Assert.Contains("until it is restarted", removed.Stderr, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, await ReadStatusAsync(before, leavingKey));
            File.Copy(Path.Combine(work!, "appsettings.json"), file, overwrite: true);
        }

        var list = await CliRunner.RunInAsync(dir.Path, CliTimeout, "keys", "list", "--file", file);
        Assert.DoesNotContain("leaving", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("staying", list.Stdout, StringComparison.Ordinal);

        await using var after = await ServerProcess.StartAsync(prepareWorkingDirectory: w => File.Copy(file, Path.Combine(w, "appsettings.json")));
        Assert.Equal(HttpStatusCode.Unauthorized, await ReadStatusAsync(after, leavingKey));
        Assert.Equal(HttpStatusCode.OK, await ReadStatusAsync(after, stayingKey));

        var unknown = await CliRunner.RunInAsync(dir.Path, CliTimeout, "keys", "remove", "--name", "leaving", "--file", file);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("no key named 'leaving'", unknown.Stderr, StringComparison.Ordinal);
        Assert.Contains("staying", unknown.Stderr, StringComparison.Ordinal);
    }

    private static void AssertBy(JsonElement e, string actor, string? displayName, string? reason)
    {
        Assert.True(e.Str("actor") == actor, $"actor: expected {actor} in {e}");
        Assert.True(displayName is null ? e.IsNull("display_name") : e.Str("display_name") == displayName, $"display_name: expected {displayName ?? "null"} in {e}");
        Assert.True(reason is null ? e.IsNull("reason") : e.Str("reason") == reason, $"reason: expected {reason ?? "null"} in {e}");
    }

    private static async Task<JsonElement> SendAsync(HttpClient http, HttpMethod method, string path, string key, string? actor = null, string? reason = null,
        string? body = null)
    {
        using var request = new HttpRequestMessage(method, path).WithKey(key);
        if (body is not null)
        {
            request.Content = Api.Json(body);
        }

        if (actor is not null)
        {
            request.Headers.Add("X-Actor", actor);
        }

        if (reason is not null)
        {
            request.Headers.Add("X-Reason", Uri.EscapeDataString(reason));
        }

        using var response = await http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {await response.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task<List<JsonElement>> EventsAsync(HttpClient http, string id, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Api.JobPath(id) + "/events").WithKey(key);
        using var response = await http.SendAsync(request);
        var body = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        return [.. body.GetProperty("items").EnumerateArray()];
    }

    private static async Task<JsonElement> ClaimOneAsync(HttpClient http, string key, string worker, string type)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, WorkerApi.ClaimPath) { Content = Api.Json(WorkerApi.ClaimBody(worker, type)) }.WithKey(key);
        using var response = await http.SendAsync(request);
        var body = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        return Assert.Single(body.GetProperty("jobs").EnumerateArray());
    }

    private static async Task<HttpStatusCode> ReadStatusAsync(ServerProcess server, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Api.Jobs + "?limit=1").WithKey(key);
        using var response = await server.Client.SendAsync(request);
        return response.StatusCode;
    }
}
