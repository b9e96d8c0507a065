using System.Text.Json;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>
/// A person answers a waiting job's question on its page. The test plays the external worker over HTTP: it claims
/// the job and asks; after the answer the job is queued again, the worker claims it again, asking the same key returns
/// the stored answer, and it completes the job.
/// </summary>
public sealed class PromptTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    private const string CountSchema = """{"type":"object","properties":{"count":{"type":"integer","minimum":0}},"required":["count"],"additionalProperties":false}""";

    [Fact]
    public async Task An_options_prompt_is_answered_with_a_button_and_the_job_completes()
    {
        const string ask = ""","key":"approve","question":"Approve the mix of episode 42?","options":["yes","no"]""";
        var (id, type, worker) = await WaitingJobAsync("options", ask);
        await OpenJobAsync(Page, id);
        var prompt = Page.GetByRole(AriaRole.Region, new() { Name = "Waiting for an answer" });
        await Expect(prompt).ToContainTextAsync("Approve the mix of episode 42?");
        var answers = prompt.GetByRole(AriaRole.Group, new() { Name = "Answers" });
        await Expect(answers.GetByRole(AriaRole.Button)).ToHaveTextAsync(["yes", "no"]);

        await answers.GetByRole(AriaRole.Button, new() { Name = "yes", Exact = true }).ClickAsync();

        await Expect(JobStatus(Page)).ToHaveTextAsync("queued");
        await Expect(prompt).ToHaveCountAsync(0);
        var answer = await FinishAsWorkerAsync(id, type, worker, ask);
        Assert.Equal("yes", answer.GetString());
        await Expect(JobStatus(Page)).ToHaveTextAsync("completed");
        await Expect(Page.GetByRole(AriaRole.Region, new() { Name = "Result" })).ToContainTextAsync("\"answer\": \"yes\"");
        await Expect(Page.GetByRole(AriaRole.Region, new() { Name = "Answered questions" })).ToContainTextAsync("\"yes\" by dashboard");
    }

    [Fact]
    public async Task A_free_text_prompt_is_answered_with_the_text_field_and_the_job_completes()
    {
        const string ask = ""","key":"title","question":"What should the episode be called?" """;
        var (id, type, worker) = await WaitingJobAsync("text", ask);
        await OpenJobAsync(Page, id);
        var prompt = Page.GetByRole(AriaRole.Region, new() { Name = "Waiting for an answer" });
        await Expect(prompt).ToContainTextAsync("What should the episode be called?");
        await Expect(prompt.GetByRole(AriaRole.Group, new() { Name = "Answers" })).ToHaveCountAsync(0);

        // Markup in an answer is text, shown as typed and stored as typed.
        const string title = "Tempo & <b>keys</b>";
        await prompt.GetByLabel("Answer", new() { Exact = true }).FillAsync(title);
        await prompt.GetByRole(AriaRole.Button, new() { Name = "Send answer" }).ClickAsync();

        await Expect(JobStatus(Page)).ToHaveTextAsync("queued");
        var answer = await FinishAsWorkerAsync(id, type, worker, ask);
        Assert.Equal(title, answer.GetString());
        await Expect(JobStatus(Page)).ToHaveTextAsync("completed");
        await Expect(Page.GetByRole(AriaRole.Region, new() { Name = "Result" })).ToContainTextAsync("Tempo & <b>keys</b>");
        await Expect(Page.Locator("main b")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task A_schema_prompt_takes_json_and_shows_why_an_answer_was_refused()
    {
        var ask = $$""","key":"count","question":"How many speakers?","schema":{{CountSchema}}""";
        var (id, type, worker) = await WaitingJobAsync("schema", ask);
        await OpenJobAsync(Page, id);
        var prompt = Page.GetByRole(AriaRole.Region, new() { Name = "Waiting for an answer" });
        var field = prompt.GetByLabel("Answer (JSON)");
        var send = prompt.GetByRole(AriaRole.Button, new() { Name = "Send answer" });

        await field.FillAsync("{count: 3");
        await send.ClickAsync();
        await Expect(prompt.GetByRole(AriaRole.Alert)).ToContainTextAsync("not valid JSON");

        // The server refuses it (422); the page shows the problem's detail and the job still waits.
        await field.FillAsync("""{"count": -1}""");
        await send.ClickAsync();
        using (var refused = await Client.PostJsonAsync(Api.JobPath(id) + "/prompt/response", """{"answer":{"count":-1}}"""))
        {
            var problem = await Api.ExpectProblemAsync(refused, System.Net.HttpStatusCode.UnprocessableEntity);
            await Expect(prompt.GetByRole(AriaRole.Alert)).ToContainTextAsync(problem.Str("detail"));
        }

        await Expect(JobStatus(Page)).ToHaveTextAsync("waiting");

        await field.FillAsync("""{"count": 3}""");
        await send.ClickAsync();
        await Expect(JobStatus(Page)).ToHaveTextAsync("queued");
        var answer = await FinishAsWorkerAsync(id, type, worker, ask);
        Assert.Equal(3, answer.GetProperty("count").GetInt32());
        await Expect(JobStatus(Page)).ToHaveTextAsync("completed");
    }

    [Fact]
    public async Task A_job_that_starts_waiting_while_its_page_is_open_shows_the_question()
    {
        var type = NewType("late");
        var worker = NewId("w");
        var id = await CreateAsync(type);
        await OpenJobAsync(Page, id);
        await Expect(Page.GetByRole(AriaRole.Region, new() { Name = "Waiting for an answer" })).ToHaveCountAsync(0);

        var item = await Client.ClaimOneAsync(worker, type);
        await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), ""","key":"go","question":"Go ahead?","options":["go","stop"]"""));

        await Expect(JobStatus(Page)).ToHaveTextAsync("waiting");
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "go", Exact = true })).ToBeVisibleAsync();
    }

    /// <summary>Creates a job, claims it as an external worker and asks <paramref name="ask"/>: the job waits.</summary>
    private async Task<(string Id, string Type, string Worker)> WaitingJobAsync(string what, string ask)
    {
        var type = NewType(what);
        var worker = NewId("w-" + what);
        var id = await CreateAsync(type, extra: ""","input":{"episode":42}""");
        var item = await Client.ClaimOneAsync(worker, type);
        var asked = await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), ask));
        Assert.True(asked.GetProperty("waiting").GetBoolean(), $"{asked}");
        return (id, type, worker);
    }

    /// <summary>The worker's second run: claim, ask the same key (the stored answer comes back), complete with it.</summary>
    private async Task<JsonElement> FinishAsWorkerAsync(string id, string type, string worker, string ask)
    {
        var item = await Client.ClaimOneAsync(worker, type);
        Assert.Equal(id, item.Str("id"));
        var replay = await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), ask));
        Assert.False(replay.GetProperty("waiting").GetBoolean(), $"asking an answered key must return the answer: {replay}");
        var answer = replay.GetProperty("prompt").GetProperty("answer");
        await Client.ActionAsync(id, "complete", WorkerApi.LeaseBody(item.Token(), $$""","result":{"answer":{{answer.GetRawText()}}}"""));
        return answer;
    }
}
