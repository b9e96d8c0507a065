using System.Globalization;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// The example Python worker (examples/python-worker/worker.py, standard library only) against the real
/// server: it claims demo.wordcount jobs, reports progress, completes, fails, reacts to a cancel, drops a
/// job whose lease was lost, and on SIGTERM finishes or releases what it runs; it runs demo.review jobs that
/// ask a person (answered here over HTTP) and complete with the answer. The tests of this class run one after
/// another on one server, and each leaves no demo.wordcount or demo.review job open for the next.
/// </summary>
public sealed class PythonWorkerTests(ServerFixture fixture, ITestOutputHelper output) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    private const string Type = "demo.wordcount";
    private const string ReviewType = "demo.review";
    private static readonly TimeSpan ExitDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_worker_completes_every_job_with_the_word_count_and_progress_and_fails_one_that_throws()
    {
        var workerId = NewWorkerId();
        var expected = new Dictionary<string, int>();
        var words = "the quick brown fox jumps over the lazy dog again and again".Split(' ');
        for (var i = 0; i < 20; i++)
        {
            var text = string.Join(i % 3 == 0 ? "  " : " ", Enumerable.Range(0, i + 1).Select(n => words[n % words.Length]));
            var job = await Client.CreateJobAsync(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["type"] = Type,
                ["input"] = new Dictionary<string, object> { ["text"] = text, ["steps"] = 1 + (i % 4) },
            }));
            expected[job.Str("id")] = i + 1;
        }

        var throwing = (await Client.CreateJobAsync($$$"""{"type":"{{{Type}}}","max_attempts":1,"input":{"fail":"cannot read the text"}}""")).Str("id");

        await using (var worker = StartWorker(workerId, "--max", "4", "--wait-seconds", "2", "--exit-when-idle", "--demo-step-seconds", "0"))
        {
            var exitCode = await worker.WaitForExitAsync(ExitDeadline);
            output.WriteLine(worker.Output);
            Assert.True(exitCode == 0, $"the worker exited with {exitCode}:\n{worker.Output}");
        }

        foreach (var (id, count) in expected)
        {
            var job = await Client.GetJobAsync(id);
            Assert.True(job.Str("status") == "completed", $"job {id} is not completed: {job}");
            Assert.Equal(count, job.GetProperty("result").GetProperty("words").GetInt32());
            Assert.Equal(1, job.GetProperty("attempt").GetInt32());
            var progress = job.GetProperty("progress");
            Assert.Equal(1.0, progress.GetProperty("fraction").GetDouble());
            Assert.Equal(count, progress.GetProperty("current").GetInt64());
            Assert.Equal(count, progress.GetProperty("total").GetInt64());
            Assert.Equal("counting", progress.Str("stage"));

            var events = await Client.EventsAsync(id);
            var changes = events.StatusChanges().ToList();
            Assert.Equal(["running", "completed"], changes.Select(e => e.GetProperty("data").Str("to")));
            Assert.All(changes, e =>
            {
                Assert.Equal(workerId, e.Str("actor"));
                Assert.Equal(workerId, e.GetProperty("data").Str("worker"));
            });
            var reports = events.Where(e => e.Str("type") == "updated").ToList();
            Assert.True(reports.Count >= 2, $"job {id}: expected progress reports, got {string.Join(", ", events.Select(e => e.Str("type")))}");
            Assert.All(reports, e => Assert.Equal(workerId, e.Str("actor")));
        }

        var failed = await Client.GetJobAsync(throwing);
        Assert.Equal("failed", failed.Str("status"));
        var error = failed.GetProperty("error");
        Assert.Equal("cannot read the text", error.Str("message"));
        Assert.Equal("exception", error.Str("code"));
        var traceback = error.GetProperty("details").Str("traceback");
        Assert.Contains("Traceback (most recent call last)", traceback, StringComparison.Ordinal);
        Assert.Contains("RuntimeError: cannot read the text", traceback, StringComparison.Ordinal);
        Assert.Equal(workerId, (await Client.EventsAsync(throwing)).StatusChanges().Last().Str("actor"));
        Assert.Empty(await QueuedAsync());
    }

    [Fact]
    public async Task The_worker_stops_a_job_when_the_server_says_it_was_cancelled()
    {
        var workerId = NewWorkerId();
        var id = (await Client.CreateJobAsync(LongJob(steps: 30, stepSeconds: 1))).Str("id");

        await using var worker = StartWorker(workerId, "--lease-seconds", "3", "--wait-seconds", "1", "--exit-when-idle");
        await WaitUntilWorkingAsync(id, worker);

        var requested = await Client.ControlAsync(id, "cancel", actor: "e2e");
        Assert.Equal("running", requested.Str("status"));
        var exitCode = await worker.WaitForExitAsync(ExitDeadline);
        output.WriteLine(worker.Output);
        Assert.True(exitCode == 0, $"the worker exited with {exitCode}:\n{worker.Output}");

        var job = await Client.GetJobAsync(id);
        Assert.Equal("cancelled", job.Str("status"));
        Assert.True(job.IsNull("result"));
        var progress = job.GetProperty("progress");
        Assert.True(progress.GetProperty("current").GetInt64() < progress.GetProperty("total").GetInt64(), $"the job ran to the end: {job}");
        // The worker itself ended it, not the reaper after the grace period.
        var last = (await Client.EventsAsync(id)).StatusChanges().Last();
        Assert.Equal("cancelled", last.GetProperty("data").Str("to"));
        Assert.True(last.Str("actor") == workerId, $"the job was not stopped by its worker: {last}\n{worker.Output}");
        Assert.Contains("cancel requested", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_SIGTERM_the_worker_stops_claiming_finishes_what_it_can_and_releases_the_rest()
    {
        var workerId = NewWorkerId();
        var quick = (await Client.CreateJobAsync(LongJob(steps: 4, stepSeconds: 0.5))).Str("id");
        var slow = (await Client.CreateJobAsync(LongJob(steps: 60, stepSeconds: 1))).Str("id");
        try
        {
            await using var worker = StartWorker(workerId, "--max", "4", "--wait-seconds", "1", "--shutdown-grace", "4");
            await WaitUntilWorkingAsync(quick, worker);
            await WaitUntilWorkingAsync(slow, worker);

            worker.Terminate();
            var exitCode = await worker.WaitForExitAsync(ExitDeadline);
            output.WriteLine(worker.Output);
            Assert.True(exitCode == 0, $"the worker exited with {exitCode}:\n{worker.Output}");

            var finished = await Client.GetJobAsync(quick);
            Assert.True(finished.Str("status") == "completed", $"the quick job did not finish in the grace period: {finished}\n{worker.Output}");
            Assert.Equal(8, finished.GetProperty("result").GetProperty("words").GetInt32());

            var released = await Client.GetJobAsync(slow);
            Assert.True(released.Str("status") == "queued", $"the slow job was not released: {released}\n{worker.Output}");
            Assert.Equal(1, released.GetProperty("attempt").GetInt32()); // a release does not count an attempt
            Assert.True(released.IsNull("lease_owner"));
            var events = await Client.EventsAsync(slow);
            Assert.Contains(events, e => e.Str("type") == "released" && e.Str("actor") == workerId);
        }
        finally
        {
            await CancelQueuedAsync();
        }
    }

    [Fact]
    public async Task The_worker_drops_a_job_whose_lease_was_lost_without_overwriting_it()
    {
        var workerId = NewWorkerId();
        var id = (await Client.CreateJobAsync(LongJob(steps: 30, stepSeconds: 0.5))).Str("id");

        await using var worker = StartWorker(workerId, "--lease-seconds", "3", "--wait-seconds", "1", "--exit-when-idle");
        await WaitUntilWorkingAsync(id, worker);

        // Taken away by hand: the worker's next call gets 409 lease-lost.
        var taken = await Client.PatchJobAsync(id, """{"status":"failed","error":{"message":"taken away by hand"}}""");
        var exitCode = await worker.WaitForExitAsync(ExitDeadline);
        output.WriteLine(worker.Output);
        Assert.True(exitCode == 0, $"the worker exited with {exitCode}:\n{worker.Output}");
        Assert.Contains("lease lost", worker.Output, StringComparison.Ordinal);

        var job = await Client.GetJobAsync(id);
        Assert.Equal(taken.ToString(), job.ToString());
    }

    [Fact]
    public async Task A_running_worker_asks_for_approval_and_completes_each_review_with_the_answer_it_was_given()
    {
        var workerId = NewWorkerId();
        var texts = new[] { "to be or not to be", "the quick brown fox", "hello" };
        var ids = new List<string>();
        foreach (var text in texts)
        {
            ids.Add((await Client.CreateJobAsync($$$"""{"type":"{{{ReviewType}}}","input":{"text":"{{{text}}}"}}""")).Str("id"));
        }

        await using var worker = StartWorkerFor(ReviewType, workerId, "--max", "4", "--wait-seconds", "1");
        try
        {
            // Each job asks, then waits holding no worker; the worker neither fails nor releases it.
            foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            {
                var prompt = await WaitForOpenPromptAsync(id, worker);
                Assert.Equal("approve", prompt.Str("key"));
                Assert.Equal(["yes", "no"], prompt.GetProperty("options").EnumerateArray().Select(o => o.GetString()));
                Assert.Contains($"{texts[i].Split(' ').Length} words", prompt.Str("question"), StringComparison.Ordinal);
                Assert.Equal(workerId, prompt.Str("asked_by"));
                var waiting = await Client.GetJobAsync(id);
                Assert.Equal("waiting", waiting.Str("status"));
                Assert.True(waiting.IsNull("lease_owner"), $"{waiting}");
            }

            // A person answers over HTTP; the still running worker claims each again and completes it with the answer.
            var answers = new[] { "yes", "no", "yes" };
            foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            {
                using var response = await Client.PostJsonAsync(Api.JobPath(id) + "/prompt/response",
                    $$"""{"answer":"{{answers[i]}}","answered_by":"reviewer-{{i}}","reason":"checked by hand"}""");
                Assert.Equal("queued", (await Api.ExpectJsonAsync(response, System.Net.HttpStatusCode.OK)).Str("status"));
            }

            foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            {
                var job = await WaitForStatusAsync(id, "completed", worker);
                var result = job.GetProperty("result");
                Assert.Equal(texts[i].Split(' ').Length, result.GetProperty("words").GetInt32());
                Assert.Equal(answers[i], result.Str("approve"));
                Assert.Equal($"reviewer-{i}", result.Str("approved_by"));
                Assert.Equal(1, job.GetProperty("attempt").GetInt32());

                var events = await Client.EventsAsync(id);
                Assert.Equal(["running", "waiting", "queued", "running", "completed"],
                    events.StatusChanges().Select(e => e.GetProperty("data").Str("to")));
                Assert.Equal(workerId, Assert.Single(events, e => e.Str("type") == "prompt_asked").Str("actor"));
                var answered = Assert.Single(events, e => e.Str("type") == "prompt_answered");
                Assert.Equal($"reviewer-{i}", answered.Str("actor"));
                Assert.Equal("checked by hand", answered.GetProperty("data").Str("reason"));
                Assert.DoesNotContain(events, e => e.Str("type") == "released");
            }

            worker.Terminate();
            var exitCode = await worker.WaitForExitAsync(ExitDeadline);
            output.WriteLine(worker.Output);
            Assert.True(exitCode == 0, $"the worker exited with {exitCode}:\n{worker.Output}");
            Assert.Contains("waiting for an answer to 'approve'", worker.Output, StringComparison.Ordinal);
        }
        finally
        {
            await CancelOpenAsync(ReviewType);
        }
    }

    [Fact]
    public async Task A_worker_run_again_after_the_answer_completes_the_review_from_the_stored_answer()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{ReviewType}}}","input":{"text":"one two three four five"}}""")).Str("id");
        try
        {
            // The first run asks and, the job waiting, finds no more work and exits.
            await using (var first = StartWorkerFor(ReviewType, NewWorkerId(), "--wait-seconds", "1", "--exit-when-idle"))
            {
                var exitCode = await first.WaitForExitAsync(ExitDeadline);
                output.WriteLine(first.Output);
                Assert.True(exitCode == 0, $"the worker exited with {exitCode}:\n{first.Output}");
            }

            var waiting = await Client.GetJobAsync(id);
            Assert.True(waiting.Str("status") == "waiting", $"{waiting}");
            Assert.True(waiting.GetProperty("result").ValueKind == JsonValueKind.Null);

            using (var response = await Client.PostJsonAsync(Api.JobPath(id) + "/prompt/response", """{"answer":"no","answered_by":"editor"}"""))
            {
                await Api.ExpectJsonAsync(response, System.Net.HttpStatusCode.OK);
            }

            var secondId = NewWorkerId();
            await using (var second = StartWorkerFor(ReviewType, secondId, "--wait-seconds", "1", "--exit-when-idle"))
            {
                var exitCode = await second.WaitForExitAsync(ExitDeadline);
                output.WriteLine(second.Output);
                Assert.True(exitCode == 0, $"the worker exited with {exitCode}:\n{second.Output}");
            }

            var job = await Client.GetJobAsync(id);
            Assert.True(job.Str("status") == "completed", $"{job}");
            Assert.Equal(5, job.GetProperty("result").GetProperty("words").GetInt32());
            Assert.Equal("no", job.GetProperty("result").Str("approve"));
            Assert.Equal("editor", job.GetProperty("result").Str("approved_by"));
            Assert.Equal(secondId, (await Client.EventsAsync(id)).StatusChanges().Last().Str("actor"));
        }
        finally
        {
            await CancelOpenAsync(ReviewType);
        }
    }

    private PythonWorkerProcess StartWorker(string workerId, params string[] options) => StartWorkerFor(Type, workerId, options);

    private PythonWorkerProcess StartWorkerFor(string types, string workerId, params string[] options) =>
        PythonWorkerProcess.Start(
            new[] { "--url", Fixture.Server.BaseAddress.ToString().TrimEnd('/'), "--types", types, "--worker-id", workerId }.Concat(options));

    private async Task<JsonElement> WaitForOpenPromptAsync(string id, PythonWorkerProcess worker)
    {
        JsonElement prompt = default;
        var last = "";
        await Api.PollAsync(async () =>
        {
            Assert.False(worker.HasExited, $"the worker exited early:\n{worker.Output}");
            using var response = await Client.GetAsync(Api.JobPath(id) + "/prompt");
            last = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != System.Net.HttpStatusCode.OK)
            {
                return false;
            }

            using var document = JsonDocument.Parse(last);
            prompt = document.RootElement.Clone();
            return true;
        }, TimeSpan.FromSeconds(30), () => $"job {id} asks nothing: {last}\n{worker.Output}");
        return prompt;
    }

    private async Task<JsonElement> WaitForStatusAsync(string id, string status, PythonWorkerProcess worker)
    {
        JsonElement job = default;
        await Api.PollAsync(async () =>
        {
            job = await Client.GetJobAsync(id);
            return job.Str("status") == status;
        }, TimeSpan.FromSeconds(30), () => $"job {id} is not {status}: {job}\n{worker.Output}");
        return job;
    }

    private async Task CancelOpenAsync(string type)
    {
        var page = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&status=queued,running,waiting&limit=1000");
        foreach (var id in page.GetProperty("items").EnumerateArray().Select(j => j.Str("id")))
        {
            using var _ = await Client.PostControlAsync(id, "cancel");
        }
    }

    private static string NewWorkerId() => "py-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>A wordcount job of <paramref name="steps"/> words that takes about steps × stepSeconds.</summary>
    private static string LongJob(int steps, double stepSeconds) =>
        $$$"""{"type":"{{{Type}}}","input":{"text":"{{{string.Join(' ', Enumerable.Repeat("w", steps * 2))}}}","steps":{{{steps}}},"step_seconds":{{{stepSeconds.ToString(CultureInfo.InvariantCulture)}}}}}""";

    /// <summary>Waits until the worker holds the job and has reported progress on it at least once after starting.</summary>
    private async Task WaitUntilWorkingAsync(string id, PythonWorkerProcess worker)
    {
        JsonElement job = default;
        await Api.PollAsync(async () =>
        {
            Assert.False(worker.HasExited, $"the worker exited early:\n{worker.Output}");
            job = await Client.GetJobAsync(id);
            return job.Str("status") == "running" && job.GetProperty("progress") is { ValueKind: JsonValueKind.Object } progress
                && progress.GetProperty("current").GetInt64() > 0;
        }, TimeSpan.FromSeconds(30), () => $"job {id} is not being worked on: {job}\n{worker.Output}");
    }

    private async Task<List<string>> QueuedAsync()
    {
        var page = await Client.GetJsonAsync($"{Api.Jobs}?type={Type}&status=queued,running&limit=1000");
        return [.. page.GetProperty("items").EnumerateArray().Select(j => j.Str("id"))];
    }

    private async Task CancelQueuedAsync()
    {
        foreach (var id in await QueuedAsync())
        {
            using var _ = await Client.PostControlAsync(id, "cancel");
        }
    }
}
