using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Jobkeeper.Model;
using static Jobkeeper.Example.Tests.ExampleApi;
using static Jobkeeper.Example.Tests.JobPolling;

namespace Jobkeeper.Example.Tests;

/// <summary>
/// Human in the loop in the example app: an <c>audio.review</c> job measures the tempo, then waits for a person
/// to answer "tempo" and "title" over HTTP — across a <c>kill -9</c> while it waits — with real processes on one
/// SQLite file. The execution log shows how often the handler ran and how often it did the work before the questions.
/// </summary>
public sealed class ExampleReviewTests : IDisposable
{
    private const string ReviewType = "audio.review";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly string _tempDir = Directory.CreateTempSubdirectory("jobkeeper-example-review-").FullName;

    private string DbPath => Path.Combine(_tempDir, "example.db");

    private string ExecutionLogPath => Path.Combine(_tempDir, "executions.log");

    private ExampleAppSettings Settings => new(DbPath) { StepDelayMs = 20, ExecutionLog = ExecutionLogPath };

    [Fact]
    public async Task A_review_waits_for_each_answer_keeps_its_open_question_through_a_kill_9_and_completes_with_both_answers_having_measured_once()
    {
        string jobId, statusUrl, eventsUrl;
        int bpm;
        await using (var first = await ExampleAppProcess.StartAsync(Settings))
        {
            (jobId, statusUrl, eventsUrl) = await StartReviewAsync(first, "take-7.wav");

            // The tempo is measured, then the job waits on "tempo", holding no worker.
            var waiting = await UntilWaitingOnAsync(first, statusUrl, "tempo");
            Assert.Null((string?)waiting["lease_owner"]);
            Assert.Equal(1.0, Fraction(waiting));
            Assert.Equal("tempo", (string?)waiting["progress"]?["stage"]);
            bpm = (int)waiting["checkpoint"]!["tempo_bpm"]!;

            var tempo = await OpenPromptAsync(first, jobId);
            Assert.Equal("tempo", (string?)tempo["key"]);
            Assert.Equal($"Is {bpm} bpm right?", (string?)tempo["question"]);
            Assert.Equal(["yes", "no"], tempo["options"]!.AsArray().Select(o => (string?)o));

            using (var answer = await AnswerAsync(first, jobId, new JsonObject
                   {
                       ["key"] = "tempo", ["answer"] = "yes", ["answered_by"] = "alice", ["confidence"] = 0.9, ["reason"] = "counted along",
                   }))
            {
                Assert.True(answer.StatusCode == HttpStatusCode.OK, await DescribeAsync(answer));
            }

            // Run again from the top: "tempo" is answered, so it goes on to ask "title" and waits again.
            await UntilWaitingOnAsync(first, statusUrl, "title");
            await first.KillAsync();
        }

        // What the kill left in the file: the job waiting on "title", no lease, the measurement in its checkpoint, attempt 1.
        await using (var store = await ExampleStore.OpenAsync(DbPath))
        {
            var job = (await store.JobsAsync(ReviewType))[jobId];
            Assert.True(job is { Status: JobStatus.Waiting, Attempt: 1, LeaseOwner: null, LeaseExpiresAt: null },
                $"After the kill the job is {job.Status.ToName()}, attempt {job.Attempt}, lease owner {job.LeaseOwner ?? "none"}");
            Assert.Equal("title", job.OpenPrompt?.Key);
            Assert.Equal(bpm, job.Checkpoint?.GetProperty("tempo_bpm").GetInt32());
        }

        await using var second = await ExampleAppProcess.StartAsync(Settings);

        // The open question is still there after the restart, and the answered one kept who answered it.
        var title = await OpenPromptAsync(second, jobId);
        Assert.Equal("title", (string?)title["key"]);
        Assert.Equal("object", (string?)title["schema"]?["type"]);
        Assert.Null(title["answered_at"]);
        var stillWaiting = await second.Http.GetFromJsonAsync<JsonNode>(statusUrl) ?? throw new Xunit.Sdk.XunitException($"No job {jobId}");
        Assert.Equal("waiting", Status(stillWaiting));

        using (var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/jobs/{jobId}/prompt/response")
               {
                   Content = JsonContent.Create(new JsonObject { ["key"] = "title", ["answer"] = new JsonObject { ["title"] = "Night Drive" } }),
               })
        {
            // No answered_by in the body: who answered comes from the X-Actor header.
            request.Headers.Add("X-Actor", "bob");
            using var answer = await second.Http.SendAsync(request);
            Assert.True(answer.StatusCode == HttpStatusCode.OK, await DescribeAsync(answer));
        }

        var done = await UntilAsync(second, statusUrl, j => Terminal.Contains(Status(j)), Deadline);
        Assert.True("completed" == Status(done), $"Job ended {Status(done)}: {done.ToJsonString()}{Environment.NewLine}{second.Output}");

        // The result: the measured tempo and both answers, with who gave them.
        var result = done["result"] ?? throw new Xunit.Sdk.XunitException("The completed job has no result.");
        Assert.Equal("take-7.wav", (string?)result["file"]);
        Assert.Equal(bpm, (int?)result["tempo_bpm"]);
        Assert.Equal(true, (bool?)result["tempo_confirmed"]);
        Assert.Equal("Night Drive", (string?)result["title"]);
        Assert.Equal("yes", (string?)result["answers"]?["tempo"]?["answer"]);
        Assert.Equal("alice", (string?)result["answers"]?["tempo"]?["answered_by"]);
        Assert.Equal("Night Drive", (string?)result["answers"]?["title"]?["answer"]?["title"]);
        Assert.Equal("bob", (string?)result["answers"]?["title"]?["answered_by"]);

        // The prompts stay on the job as the record of who answered what.
        var prompts = done["prompts"]!.AsArray();
        Assert.Equal(["tempo", "title"], prompts.Select(p => (string?)p?["key"]));
        Assert.Equal(0.9, (double?)prompts[0]?["confidence"]);
        Assert.Equal("counted along", (string?)prompts[0]?["reason"]);
        Assert.All(prompts, p => Assert.NotNull(p?["answered_at"]));

        // Questions cost no attempts: one attempt from start to end, and no lease ever expired.
        Assert.Equal(1, (int?)done["attempt"]);
        var events = await EventsAsync(second, eventsUrl);
        Assert.DoesNotContain("lease_expired", EventTypes(events));
        Assert.Equal(
            ["queued→running", "running→waiting", "waiting→queued", "queued→running", "running→waiting", "waiting→queued", "queued→running", "running→completed"],
            StatusChanges(events));
        Assert.All(events.Where(e => (string?)e?["type"] == "status_changed"), e => Assert.Equal(1, (int?)e?["data"]?["attempt"]));

        var asked = events.Where(e => (string?)e?["type"] == "prompt_asked").ToList();
        Assert.Equal(["tempo", "title"], asked.Select(e => (string?)e?["data"]?["key"]));
        var answered = events.Where(e => (string?)e?["type"] == "prompt_answered").ToList();
        Assert.Equal(["tempo", "title"], answered.Select(e => (string?)e?["data"]?["key"]));
        Assert.Equal(["alice", "bob"], answered.Select(e => (string?)e?["actor"]));
        Assert.Equal(["alice", "bob"], answered.Select(e => (string?)e?["data"]?["answered_by"]));
        Assert.Equal("yes", (string?)answered[0]?["data"]?["answer"]);
        Assert.Equal("Night Drive", (string?)answered[1]?["data"]?["answer"]?["title"]);

        // The handler ran three times (first run, after each answer), always as attempt 1; the tempo was measured once.
        var executions = ReadExecutionLog(jobId);
        Assert.Equal(["1", "work", "1", "1"], executions);

        // Nothing left to answer.
        using var none = await second.Http.GetAsync($"/api/v1/jobs/{jobId}/prompt");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
    }

    [Fact]
    public async Task An_answer_that_does_not_fit_is_refused_with_422_and_a_second_answer_to_a_question_with_409()
    {
        await using var app = await ExampleAppProcess.StartAsync(Settings);
        var (jobId, statusUrl, _) = await StartReviewAsync(app, "demo.wav");
        await UntilWaitingOnAsync(app, statusUrl, "tempo");

        // Not one of the options: 422, and the question stays open.
        using (var wrong = await AnswerAsync(app, jobId, new JsonObject { ["key"] = "tempo", ["answer"] = "maybe", ["answered_by"] = "carol" }))
        {
            Assert.True(wrong.StatusCode == HttpStatusCode.UnprocessableEntity, await DescribeAsync(wrong));
            Assert.Equal("application/problem+json", wrong.Content.Headers.ContentType?.MediaType);
        }

        var open = await OpenPromptAsync(app, jobId);
        Assert.Equal("tempo", (string?)open["key"]);
        Assert.Null(open["answered_at"]);

        using (var first = await AnswerAsync(app, jobId, new JsonObject { ["key"] = "tempo", ["answer"] = "no", ["answered_by"] = "carol" }))
        {
            Assert.True(first.StatusCode == HttpStatusCode.OK, await DescribeAsync(first));
        }

        // One answer wins: answering "tempo" again is a conflict, whether the job is queued, running or already waiting on "title".
        using (var again = await AnswerAsync(app, jobId, new JsonObject { ["key"] = "tempo", ["answer"] = "yes", ["answered_by"] = "dave" }))
        {
            Assert.True(again.StatusCode == HttpStatusCode.Conflict, await DescribeAsync(again));
            Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        }

        // "title" wants an object with a non-empty string title.
        await UntilWaitingOnAsync(app, statusUrl, "title");
        foreach (var misfit in new JsonNode[] { "Night Drive", new JsonObject { ["title"] = "" }, new JsonObject { ["title"] = 7 } })
        {
            using var rejected = await AnswerAsync(app, jobId, new JsonObject { ["key"] = "title", ["answer"] = misfit });
            Assert.True(rejected.StatusCode == HttpStatusCode.UnprocessableEntity, $"{misfit.ToJsonString()}: {await DescribeAsync(rejected)}");
        }

        using (var title = await AnswerAsync(app, jobId, new JsonObject { ["answer"] = new JsonObject { ["title"] = "Demo" }, ["answered_by"] = "carol" }))
        {
            Assert.True(title.StatusCode == HttpStatusCode.OK, await DescribeAsync(title));
        }

        using (var late = await AnswerAsync(app, jobId, new JsonObject { ["key"] = "title", ["answer"] = new JsonObject { ["title"] = "Other" } }))
        {
            Assert.True(late.StatusCode == HttpStatusCode.Conflict, await DescribeAsync(late));
        }

        var done = await UntilAsync(app, statusUrl, j => Terminal.Contains(Status(j)), Deadline);
        Assert.True("completed" == Status(done), $"Job ended {Status(done)}: {done.ToJsonString()}{Environment.NewLine}{app.Output}");

        // The refused and the late answers changed nothing.
        Assert.Equal(false, (bool?)done["result"]?["tempo_confirmed"]);
        Assert.Equal("no", (string?)done["result"]?["answers"]?["tempo"]?["answer"]);
        Assert.Equal("carol", (string?)done["result"]?["answers"]?["tempo"]?["answered_by"]);
        Assert.Equal("Demo", (string?)done["result"]?["title"]);
        Assert.Equal(1, (int?)done["attempt"]);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_tempDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }

    /// <summary>Polls the job until it waits on the open prompt <paramref name="key"/>; fails at once if it ends instead.</summary>
    private static async Task<JsonNode> UntilWaitingOnAsync(ExampleAppProcess app, string statusUrl, string key)
    {
        var job = await UntilAsync(app, statusUrl, j => Terminal.Contains(Status(j)) || (Status(j) == "waiting" && OpenKey(j) == key), Deadline);
        Assert.True(Status(job) == "waiting" && OpenKey(job) == key,
            $"Expected the job to wait on '{key}'; it is {Status(job)}: {job.ToJsonString()}{Environment.NewLine}{app.Output}");
        return job;
    }

    private static string? OpenKey(JsonNode job) =>
        job["prompts"]?.AsArray().LastOrDefault(p => p?["answered_at"] is null)?["key"] is { } key ? (string?)key : null;

    private static async Task<JsonNode> OpenPromptAsync(ExampleAppProcess app, string jobId)
    {
        using var response = await app.Http.GetAsync($"/api/v1/jobs/{jobId}/prompt");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await DescribeAsync(response));
        return await response.Content.ReadFromJsonAsync<JsonNode>() ?? throw new Xunit.Sdk.XunitException("GET .../prompt returned no JSON.");
    }

    private static Task<HttpResponseMessage> AnswerAsync(ExampleAppProcess app, string jobId, JsonObject body) =>
        app.Http.PostAsJsonAsync($"/api/v1/jobs/{jobId}/prompt/response", body);

    private static async Task<string> DescribeAsync(HttpResponseMessage response) =>
        $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";

    /// <summary>What the execution log says about one job, in order: an attempt number per handler run, "work" per measurement.</summary>
    private List<string> ReadExecutionLog(string jobId) =>
        File.Exists(ExecutionLogPath)
            ? File.ReadAllLines(ExecutionLogPath)
                .Where(line => line.StartsWith(jobId + " ", StringComparison.Ordinal))
                .Select(line => line[(jobId.Length + 1)..])
                .ToList()
            : [];
}
