using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Human in the loop over HTTP against the real server: an external worker asks, a person reads the open
/// prompt and answers, the worker claims again and finds the answer. The tests share one server; each works
/// on job types of its own.
/// </summary>
public sealed class PromptRouteTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    public const string StateConflictType = "https://jobkeeper.dev/problems/state-conflict";
    public const string AnswerRejectedType = "https://jobkeeper.dev/problems/answer-rejected";
    public const string NoOpenPromptType = "https://jobkeeper.dev/problems/no-open-prompt";
    public const string JobNotFoundType = "https://jobkeeper.dev/problems/job-not-found";

    private const string CountSchema = """{"type":"object","properties":{"count":{"type":"integer","minimum":0}},"required":["count"],"additionalProperties":false}""";

    private static string NewType(string what) => $"prompt.{what}.{Guid.NewGuid():N}";

    private static string NewWorker(string what) => $"w-{what}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task An_http_worker_asks_a_person_answers_and_the_worker_resumes_with_both_answers()
    {
        var type = NewType("flow");
        var worker = NewWorker("flow");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","input":{"text":"to be or not"},"max_attempts":2}""")).Str("id");

        // First run: claim and ask with options.
        var first = await Client.ClaimOneAsync(worker, type);
        Assert.Equal(JsonValueKind.Array, first.GetProperty("prompts").ValueKind);
        Assert.Empty(first.GetProperty("prompts").EnumerateArray());
        var askedAt = DateTimeOffset.UtcNow;
        var asked = await Client.ActionAsync(id, "prompt",
            WorkerApi.LeaseBody(first.Token(), ""","key":"approve","question":"Approve the text?","options":["yes","no"]"""));
        Assert.True(asked.GetProperty("waiting").GetBoolean(), $"{asked}");
        Assert.Equal("waiting", asked.Str("status"));
        var askedPrompt = asked.GetProperty("prompt");
        Assert.Equal("approve", askedPrompt.Str("key"));
        Assert.Equal("Approve the text?", askedPrompt.Str("question"));
        Assert.Equal(["yes", "no"], askedPrompt.GetProperty("options").EnumerateArray().Select(o => o.GetString()));
        Assert.Equal(worker, askedPrompt.Str("asked_by"));
        Assert.True(askedPrompt.IsNull("answer"));

        // The job waits and holds no worker; its lease token is spent.
        var waiting = await Client.GetJobAsync(id);
        Assert.Equal("waiting", waiting.Str("status"));
        Assert.True(waiting.IsNull("lease_owner"), $"a waiting job holds a worker: {waiting}");
        Assert.Equal(1, waiting.GetProperty("attempt").GetInt32());
        Assert.Single(waiting.GetProperty("prompts").EnumerateArray());
        Assert.Empty(await Client.ClaimAsync(worker, type));
        using (var stale = await Client.PostActionAsync(id, "heartbeat", WorkerApi.LeaseBody(first.Token())))
        {
            await WorkerApi.ExpectLeaseLostAsync(stale);
        }

        // A person reads the open prompt.
        var open = await Client.GetJsonAsync(Api.JobPath(id) + "/prompt");
        foreach (var field in new[] { "key", "question", "options", "schema", "asked_at", "expires_at", "on_expiry", "default_answer", "asked_by", "answer" })
        {
            Assert.True(open.TryGetProperty(field, out _), $"field '{field}' missing from the open prompt {open}");
        }

        Assert.Equal("approve", open.Str("key"));
        Assert.True(open.IsNull("answer"));
        Assert.True(open.IsNull("expires_at"));
        Assert.InRange(open.Time("asked_at"), askedAt.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));

        // ... and answers.
        var answered = await AnswerAsync(id, """{"answer":"yes","confidence":0.9,"answered_by":"alice","reason":"reads well","key":"approve"}""");
        Assert.Equal("queued", answered.Str("status"));
        Assert.Equal(1, answered.GetProperty("attempt").GetInt32());
        var record = answered.GetProperty("prompts")[0];
        Assert.Equal("yes", record.Str("answer"));
        Assert.Equal(0.9, record.GetProperty("confidence").GetDouble());
        Assert.Equal("alice", record.Str("answered_by"));
        Assert.Equal("reads well", record.Str("reason"));
        Assert.False(record.IsNull("answered_at"));
        using (var none = await Client.GetAsync(Api.JobPath(id) + "/prompt"))
        {
            var problem = await Api.ExpectProblemAsync(none, HttpStatusCode.NotFound);
            Assert.Equal(NoOpenPromptType, problem.Str("type"));
        }

        // Second run: the claimed item carries the answer; asking the same key again is a replay.
        var second = await Client.ClaimOneAsync(worker, type);
        Assert.Equal(1, second.GetProperty("attempt").GetInt32());
        var prompts = second.GetProperty("prompts").EnumerateArray().ToList();
        Assert.Single(prompts);
        Assert.Equal("approve", prompts[0].Str("key"));
        Assert.Equal("yes", prompts[0].Str("answer"));
        Assert.Equal("alice", prompts[0].Str("answered_by"));
        Assert.True(second.TryGetProperty("checkpoint", out _), $"no checkpoint member in the claimed item {second}");

        var beforeReplay = await Client.GetJobAsync(id);
        var replay = await Client.ActionAsync(id, "prompt",
            WorkerApi.LeaseBody(second.Token(), ""","key":"approve","question":"Approve the text?","options":["yes","no"]"""));
        Assert.False(replay.GetProperty("waiting").GetBoolean(), $"{replay}");
        Assert.Equal("yes", replay.GetProperty("prompt").Str("answer"));
        Assert.Equal("running", replay.Str("status"));
        var afterReplay = await Client.GetJobAsync(id);
        Assert.Equal(beforeReplay.Version(), afterReplay.Version());
        Assert.Equal("running", afterReplay.Str("status"));

        // A checkpoint under the lease.
        var saved = await Client.ActionAsync(id, "checkpoint", WorkerApi.LeaseBody(second.Token(), ""","state":{"words":4}"""));
        Assert.Equal(["cancel_requested", "id", "lease_expires_at", "version"], saved.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(id, saved.Str("id"));
        Assert.True(saved.Version() > afterReplay.Version());
        Assert.Equal(4, (await Client.GetJobAsync(id)).GetProperty("checkpoint").GetProperty("words").GetInt32());

        // A second question with a schema.
        var second2 = await Client.ActionAsync(id, "prompt",
            WorkerApi.LeaseBody(second.Token(), $$""","key":"count","question":"How many words really?","schema":{{CountSchema}}"""));
        Assert.True(second2.GetProperty("waiting").GetBoolean(), $"{second2}");
        Assert.Equal("object", second2.GetProperty("prompt").GetProperty("schema").Str("type"));
        var listed = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&status=waiting");
        var entry = Assert.Single(listed.GetProperty("items").EnumerateArray());
        Assert.Equal(id, entry.Str("id"));
        Assert.Equal(2, entry.GetProperty("prompts").GetArrayLength());

        var request = new HttpRequestMessage(HttpMethod.Post, Api.JobPath(id) + "/prompt/response") { Content = Api.Json("""{"answer":{"count":4}}""") };
        request.Headers.Add("X-Actor", "bob");
        using (var response = await Client.SendAsync(request))
        {
            var job = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
            Assert.Equal("queued", job.Str("status"));
            Assert.Equal($"\"{job.Version()}\"", response.ETag());
            Assert.Equal("bob", job.GetProperty("prompts")[1].Str("answered_by"));
        }

        // Third run: both answers, then complete with them.
        var third = await Client.ClaimOneAsync(worker, type);
        var both = third.GetProperty("prompts").EnumerateArray().ToDictionary(p => p.Str("key"), p => p.GetProperty("answer"));
        Assert.Equal("yes", both["approve"].GetString());
        Assert.Equal(4, both["count"].GetProperty("count").GetInt32());
        Assert.Equal(4, third.GetProperty("checkpoint").GetProperty("words").GetInt32());
        var completed = await Client.ActionAsync(id, "complete",
            WorkerApi.LeaseBody(third.Token(), $$""","result":{"approved":{{both["approve"].GetRawText()}},"count":{{both["count"].GetProperty("count").GetRawText()}}}"""));
        Assert.Equal("completed", completed.Str("status"));
        Assert.Equal("yes", completed.GetProperty("result").Str("approved"));
        Assert.Equal(4, completed.GetProperty("result").GetProperty("count").GetInt32());
        Assert.Equal(1, completed.GetProperty("attempt").GetInt32());
        Assert.Equal(2, completed.GetProperty("prompts").GetArrayLength());

        // The events are the audit trail: who asked and answered what, when and why.
        var events = await Client.EventsAsync(id);
        var promptEvents = events.Where(e => e.Str("type").StartsWith("prompt_", StringComparison.Ordinal)).ToList();
        Assert.Equal(["prompt_asked", "prompt_answered", "prompt_asked", "prompt_answered"], promptEvents.Select(e => e.Str("type")));
        Assert.Equal(worker, promptEvents[0].Str("actor"));
        Assert.Equal("approve", promptEvents[0].GetProperty("data").Str("key"));
        Assert.Equal("Approve the text?", promptEvents[0].GetProperty("data").Str("question"));
        var firstAnswer = promptEvents[1];
        Assert.Equal("alice", firstAnswer.Str("actor"));
        Assert.Equal("approve", firstAnswer.GetProperty("data").Str("key"));
        Assert.Equal("yes", firstAnswer.GetProperty("data").Str("answer"));
        Assert.Equal("reads well", firstAnswer.GetProperty("data").Str("reason"));
        Assert.Equal(0.9, firstAnswer.GetProperty("data").GetProperty("confidence").GetDouble());
        Assert.Equal(record.Str("answered_at"), firstAnswer.GetProperty("data").Str("answered_at"));
        Assert.Equal("bob", promptEvents[3].Str("actor"));
        Assert.Equal(4, promptEvents[3].GetProperty("data").GetProperty("answer").GetProperty("count").GetInt32());
        Assert.True(promptEvents.Zip(promptEvents.Skip(1)).All(p => p.First.Time("at") <= p.Second.Time("at")),
            $"the prompt events are out of order: {string.Join(", ", promptEvents)}");
        var statuses = events.StatusChanges().Select(e => e.GetProperty("data").Str("to")).ToList();
        Assert.Equal(["running", "waiting", "queued", "running", "waiting", "queued", "running", "completed"], statuses);
        Assert.Contains(events.StatusChanges(), e => e.GetProperty("data").Str("to") == "queued" && e.Str("actor") == "alice");
    }

    [Fact]
    public async Task Sixteen_concurrent_answers_to_one_prompt_exactly_one_wins()
    {
        var (id, _) = await WaitingJobAsync("race", """ "options":["a","b","c"] """);
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            start.Wait();
            var request = new HttpRequestMessage(HttpMethod.Post, Api.JobPath(id) + "/prompt/response")
            {
                Content = Api.Json($$"""{"answer":"{{"abc"[i % 3]}}","answered_by":"racer-{{i}}"}"""),
            };
            using var response = await Client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            return (i, response.StatusCode, body);
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(tasks);

        var winners = results.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        Assert.True(winners.Count == 1, "expected one 200: " + string.Join("\n", results.Select(r => $"{r.i}: {(int)r.StatusCode} {r.body}")));
        Assert.All(results.Where(r => r.StatusCode != HttpStatusCode.OK), r =>
        {
            Assert.True(r.StatusCode == HttpStatusCode.Conflict, $"{r.i}: {(int)r.StatusCode} {r.body}");
            Assert.Contains(StateConflictType, r.body, StringComparison.Ordinal);
        });

        var winner = winners[0].i;
        var job = await Client.GetJobAsync(id);
        Assert.Equal("queued", job.Str("status"));
        var prompt = Assert.Single(job.GetProperty("prompts").EnumerateArray());
        Assert.Equal($"racer-{winner}", prompt.Str("answered_by"));
        Assert.Equal("abc"[winner % 3].ToString(), prompt.Str("answer"));
        var answers = (await Client.EventsAsync(id)).Where(e => e.Str("type") == "prompt_answered").ToList();
        Assert.Equal($"racer-{winner}", Assert.Single(answers).Str("actor"));
    }

    [Theory]
    [InlineData("\"maybe\"", "options")]
    [InlineData("\"YES\"", "options")]
    [InlineData("1", "options")]
    [InlineData("[\"yes\"]", "options")]
    [InlineData("{\"count\":-1}", "schema")]
    [InlineData("{\"count\":\"four\"}", "schema")]
    [InlineData("{}", "schema")]
    [InlineData("{\"count\":4,\"extra\":true}", "schema")]
    [InlineData("\"four\"", "schema")]
    public async Task An_answer_outside_the_options_or_failing_the_schema_is_422_naming_why_and_changes_nothing(string answer, string kind)
    {
        var (id, _) = await WaitingJobAsync("reject", kind == "options" ? """ "options":["yes","no"] """ : $""" "schema":{CountSchema} """);
        var before = await Client.GetJobAsync(id);

        using (var response = await Client.PostJsonAsync(Api.JobPath(id) + "/prompt/response", $$"""{"answer":{{answer}}}"""))
        {
            var problem = await Api.ExpectProblemAsync(response, (HttpStatusCode)422);
            Assert.Equal(AnswerRejectedType, problem.Str("type"));
            Assert.Equal("check", problem.Str("key"));
            var why = problem.Str("why");
            Assert.Contains(kind == "options" ? "one of the options" : "schema", why, StringComparison.Ordinal);
            Assert.Contains(why, problem.Str("detail"), StringComparison.Ordinal);
        }

        var after = await Client.GetJobAsync(id);
        Assert.Equal(before.ToString(), after.ToString());
        Assert.Equal("waiting", after.Str("status"));
        Assert.DoesNotContain(await Client.EventsAsync(id), e => e.Str("type") == "prompt_answered");

        // A fitting answer is still taken afterwards.
        var ok = await AnswerAsync(id, kind == "options" ? """{"answer":"no"}""" : """{"answer":{"count":0}}""");
        Assert.Equal("queued", ok.Str("status"));
    }

    [Fact]
    public async Task Answering_an_unknown_job_is_404_and_a_job_with_no_open_prompt_is_409()
    {
        var missing = "no-such-job-" + Guid.NewGuid().ToString("N");
        using (var response = await Client.PostJsonAsync(Api.JobPath(missing) + "/prompt/response", """{"answer":"yes"}"""))
        {
            Assert.Equal(JobNotFoundType, (await Api.ExpectProblemAsync(response, HttpStatusCode.NotFound)).Str("type"));
        }

        using (var response = await Client.GetAsync(Api.JobPath(missing) + "/prompt"))
        {
            Assert.Equal(JobNotFoundType, (await Api.ExpectProblemAsync(response, HttpStatusCode.NotFound)).Str("type"));
        }

        // Queued (never asked), running, and answered already: 409, nothing changed.
        var type = NewType("notwaiting");
        var queued = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        await ExpectNoOpenPromptAsync(queued, """{"answer":"yes"}""");
        using (var response = await Client.GetAsync(Api.JobPath(queued) + "/prompt"))
        {
            Assert.Equal(NoOpenPromptType, (await Api.ExpectProblemAsync(response, HttpStatusCode.NotFound)).Str("type"));
        }

        var item = await Client.ClaimOneAsync(NewWorker("nw"), type);
        await ExpectNoOpenPromptAsync(queued, """{"answer":"yes"}""");
        await Client.ActionAsync(queued, "complete", WorkerApi.LeaseBody(item.Token()));
        await ExpectNoOpenPromptAsync(queued, """{"answer":"yes"}""");

        var (answeredId, _) = await WaitingJobAsync("twice", """ "options":["yes","no"] """);
        await AnswerAsync(answeredId, """{"answer":"yes","answered_by":"first"}""");
        var problem = await ExpectNoOpenPromptAsync(answeredId, """{"answer":"no","answered_by":"second"}""");
        Assert.Contains("answered already", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Contains("first", problem.Str("detail"), StringComparison.Ordinal);

        // The wrong key: 409, the right key works.
        var (keyed, _) = await WaitingJobAsync("key", """ "options":["yes","no"] """);
        await ExpectNoOpenPromptAsync(keyed, """{"answer":"yes","key":"other"}""");
        Assert.Equal("queued", (await AnswerAsync(keyed, """{"answer":"yes","key":"check"}""")).Str("status"));
    }

    [Fact]
    public async Task Asking_needs_the_lease_and_a_valid_prompt()
    {
        var type = NewType("ask");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync(NewWorker("ask"), type);
        var before = await Client.GetJobAsync(id);

        using (var response = await Client.PostActionAsync(id, "prompt", WorkerApi.LeaseBody("not-the-token", ""","key":"k","question":"q?" """)))
        {
            await WorkerApi.ExpectLeaseLostAsync(response);
        }

        foreach (var (extra, field) in new[]
                 {
                     (""","question":"q?" """, "key"),
                     (""","key":"k" """, "question"),
                     (""","key":"k","question":"q?","options":[]""", "options"),
                     (""","key":"k","question":"q?","options":["a","a"]""", "options"),
                     (""","key":"k","question":"q?","options":"yes" """, "options"),
                     (""","key":"k","question":"q?","options":[1]""", "options[0]"),
                     (""","key":"k","question":"q?","options":["a"],"schema":{"type":"string"}""", "schema"),
                     (""","key":"k","question":"q?","schema":"string" """, "schema"),
                     (""","key":"k","question":"q?","expires_in_seconds":0""", "expires_in_seconds"),
                     (""","key":"k","question":"q?","expires_in_seconds":"soon" """, "expires_in_seconds"),
                     // Beyond what a TimeSpan holds: refused by range, never converted first.
                     (""","key":"k","question":"q?","expires_in_seconds":1e12""", "expires_in_seconds"),
                     (""","key":"k","question":"q?","expires_in_seconds":1e999""", "expires_in_seconds"),
                     (""","key":"k","question":"q?","expires_in_seconds":-1e308""", "expires_in_seconds"),
                     (""","key":"k","question":"q?","expires_in_seconds":31536001""", "expires_in_seconds"),
                     (""","key":"k","question":"q?","expires_in_seconds":5,"on_expiry":"later" """, "on_expiry"),
                     (""","key":"k","question":"q?","expires_in_seconds":5,"on_expiry":"default" """, "default_answer"),
                     (""","key":"k","question":"q?","options":["a"],"expires_in_seconds":5,"on_expiry":"default","default_answer":"b" """, "default_answer"),
                     (""","key":"k","question":"q?","colour":"red" """, "colour"),
                 })
        {
            using var response = await Client.PostActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), extra));
            await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        }

        using (var response = await Client.PostActionAsync(id, "prompt", """{"key":"k","question":"q?"}"""))
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, "lease_token");
        }

        var after = await Client.GetJobAsync(id);
        Assert.Equal(before.Version(), after.Version());
        Assert.Equal("running", after.Str("status"));
        Assert.Empty(after.GetProperty("prompts").EnumerateArray());
    }

    [Fact]
    public async Task Asking_after_a_cancel_was_requested_ends_the_job_cancelled_without_a_server_error()
    {
        var type = NewType("askcancel");
        var worker = NewWorker("askcancel");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync(worker, type);
        Assert.Equal("running", (await Client.ControlAsync(id, "cancel", actor: "e2e")).Str("status"));

        using (var response = await Client.PostActionAsync(id, "prompt",
                   WorkerApi.LeaseBody(item.Token(), ""","key":"k","question":"Go on?","options":["yes","no"]""")))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"asking after a cancel request: {(int)response.StatusCode} {body}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                using var document = JsonDocument.Parse(body);
                Assert.False(document.RootElement.GetProperty("waiting").GetBoolean(), body);
                Assert.Equal("cancelled", document.RootElement.Str("status"));
            }
        }

        var job = await Client.GetJobAsync(id);
        Assert.Equal("cancelled", job.Str("status"));
        Assert.Empty(job.GetProperty("prompts").EnumerateArray());
    }

    [Fact]
    public async Task The_openapi_document_lists_the_prompt_routes()
    {
        var document = await Client.GetJsonAsync("/openapi/v1.json");
        var paths = document.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/v1/jobs/{id}/prompt", out var prompt), "no /api/v1/jobs/{id}/prompt in the OpenAPI document");
        Assert.True(prompt.TryGetProperty("get", out _), $"no GET prompt: {prompt}");
        Assert.True(prompt.TryGetProperty("post", out _), $"no POST prompt: {prompt}");
        Assert.True(paths.TryGetProperty("/api/v1/jobs/{id}/prompt/response", out var response), "no prompt/response route");
        Assert.True(response.TryGetProperty("post", out var answer));
        Assert.True(answer.TryGetProperty("requestBody", out _), $"the answer route documents no request body: {answer}");
        Assert.True(paths.TryGetProperty("/api/v1/jobs/{id}/checkpoint", out var checkpoint), "no checkpoint route");
        Assert.True(checkpoint.TryGetProperty("post", out _));
    }

    /// <summary>Creates a job of a fresh type, claims it and asks "check" with <paramref name="promptMembers"/>; returns the id and the type.</summary>
    private async Task<(string Id, string Type)> WaitingJobAsync(string what, string promptMembers)
    {
        var type = NewType(what);
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync(NewWorker(what), type);
        var asked = await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), $""","key":"check","question":"Check?",{promptMembers}"""));
        Assert.True(asked.GetProperty("waiting").GetBoolean(), $"{asked}");
        return (id, type);
    }

    private async Task<JsonElement> AnswerAsync(string id, string body)
    {
        using var response = await Client.PostJsonAsync(Api.JobPath(id) + "/prompt/response", body);
        return await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
    }

    private async Task<JsonElement> ExpectNoOpenPromptAsync(string id, string body)
    {
        var before = await Client.GetJobAsync(id);
        using var response = await Client.PostJsonAsync(Api.JobPath(id) + "/prompt/response", body);
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Equal(StateConflictType, problem.Str("type"));
        var after = await Client.GetJobAsync(id);
        Assert.Equal(before.Version(), after.Version());
        Assert.Equal(before.Str("status"), after.Str("status"));
        return problem;
    }
}

/// <summary>Prompts that run out of time, on a server that looks for them often.</summary>
public sealed class PromptExpiryTests
{
    [Fact]
    public async Task An_expired_prompt_fails_the_job_or_queues_it_again_with_the_default_answer()
    {
        await using var server = await ServerProcess.StartAsync(environment: new Dictionary<string, string>
        {
            ["JOBKEEPER__WORKERS__REAPINTERVAL"] = "00:00:00.200",
        });
        var client = server.Client;
        var mark = server.Responses.Count;
        var type = $"prompt.expiry.{Guid.NewGuid():N}";

        var failing = (await client.CreateJobAsync($$$"""{"type":"{{{type}}}","input":{"n":1}}""")).Str("id");
        var defaulting = (await client.CreateJobAsync($$$"""{"type":"{{{type}}}","input":{"n":2}}""")).Str("id");
        var items = await client.ClaimAsync("w-expiry", type, max: 2);
        Assert.Equal(2, items.Count);
        var tokens = items.ToDictionary(i => i.Str("id"), i => i.Token());

        var failAsk = await client.ActionAsync(failing, "prompt", WorkerApi.LeaseBody(tokens[failing],
            ""","key":"go","question":"Go on?","options":["yes","no"],"expires_in_seconds":1,"on_expiry":"fail" """));
        Assert.True(failAsk.GetProperty("waiting").GetBoolean());
        Assert.Equal("fail", failAsk.GetProperty("prompt").Str("on_expiry"));
        Assert.False(failAsk.GetProperty("prompt").IsNull("expires_at"));
        var defaultAsk = await client.ActionAsync(defaulting, "prompt", WorkerApi.LeaseBody(tokens[defaulting],
            ""","key":"go","question":"Go on?","options":["yes","no"],"expires_in_seconds":1,"on_expiry":"default","default_answer":"no" """));
        Assert.True(defaultAsk.GetProperty("waiting").GetBoolean());

        JsonElement failed = default;
        await Api.PollAsync(async () => (failed = await client.GetJobAsync(failing)).Str("status") == "failed",
            TimeSpan.FromSeconds(15), () => $"the prompt did not expire: {failed}");
        Assert.Equal("prompt_expired", failed.GetProperty("error").Str("code"));
        var expiredPrompt = Assert.Single(failed.GetProperty("prompts").EnumerateArray());
        Assert.True(expiredPrompt.GetProperty("expired").GetBoolean());
        Assert.True(expiredPrompt.IsNull("answer"));
        Assert.True(failed.Time("updated_at") >= expiredPrompt.Time("expires_at"), $"failed before the prompt expired: {failed}");
        var failEvents = await client.EventsAsync(failing);
        var expiredEvent = Assert.Single(failEvents, e => e.Str("type") == "prompt_expired");
        Assert.Equal("expiry", expiredEvent.Str("actor"));
        Assert.Equal("failed", failEvents.StatusChanges().Last().GetProperty("data").Str("to"));
        using (var late = await client.PostJsonAsync(Api.JobPath(failing) + "/prompt/response", """{"answer":"yes"}"""))
        {
            await Api.ExpectProblemAsync(late, HttpStatusCode.Conflict);
        }

        JsonElement queued = default;
        await Api.PollAsync(async () => (queued = await client.GetJobAsync(defaulting)).Str("status") == "queued",
            TimeSpan.FromSeconds(15), () => $"the prompt did not expire: {queued}");
        var item = await client.ClaimOneAsync("w-expiry", type);
        Assert.Equal(defaulting, item.Str("id"));
        var defaulted = Assert.Single(item.GetProperty("prompts").EnumerateArray());
        Assert.Equal("no", defaulted.Str("answer"));
        Assert.True(defaulted.GetProperty("expired").GetBoolean());
        Assert.Equal("expiry", defaulted.Str("answered_by"));
        Assert.Contains(await client.EventsAsync(defaulting), e => e.Str("type") == "prompt_expired" && e.Str("actor") == "expiry");

        // Replay: asking the key again returns the default at once.
        var replay = await client.ActionAsync(defaulting, "prompt", WorkerApi.LeaseBody(item.Token(),
            ""","key":"go","question":"Go on?","options":["yes","no"],"expires_in_seconds":1,"on_expiry":"default","default_answer":"no" """));
        Assert.False(replay.GetProperty("waiting").GetBoolean());
        Assert.Equal("no", replay.GetProperty("prompt").Str("answer"));

        var errors = server.Responses.ServerErrorsSince(mark);
        Assert.True(errors.Count == 0, "5xx responses:\n" + string.Join("\n", errors) + "\n" + server.Output);
    }
}
