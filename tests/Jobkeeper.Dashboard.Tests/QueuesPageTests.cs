using System.Net;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>The queues page: state at a glance, Pause/Resume, the limits form; and a held-back job saying why.</summary>
public sealed class QueuesPageTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    private static string NewQueue(string what) => $"{what}-{Guid.NewGuid():N}"[..28];

    private static ILocator QueueRow(IPage page, string queue) => page.Locator($"table.queues tr[data-queue=\"{queue}\"]");

    [Fact]
    public async Task The_queues_page_pauses_resumes_and_sets_a_limit_that_the_server_then_holds()
    {
        var queue = NewQueue("dash-q");
        var type = NewType("queues-page");
        await CreateAsync(type, extra: $$""","queue":"{{queue}}" """);
        await CreateAsync(type, extra: $$""","queue":"{{queue}}" """);

        await Page.GotoAsync("/#/queues");
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Queues", Exact = true, Level = 1 })).ToBeVisibleAsync();
        var row = QueueRow(Page, queue);
        await Expect(row.GetByTestId("queue-state")).ToHaveTextAsync("running");

        await row.GetByRole(AriaRole.Button, new() { Name = "Pause", Exact = true }).ClickAsync();
        await Expect(row.GetByTestId("queue-state")).ToHaveTextAsync("paused");
        Assert.True((await Client.GetJsonAsync($"/api/v1/queues/{queue}")).GetProperty("paused").GetBoolean());
        await row.GetByRole(AriaRole.Button, new() { Name = "Resume", Exact = true }).ClickAsync();
        await Expect(row.GetByTestId("queue-state")).ToHaveTextAsync("running");

        await row.GetByRole(AriaRole.Button, new() { Name = "Limits…", Exact = true }).ClickAsync();
        var form = Page.GetByTestId("queue-form");
        // One type paused on its own, and resumed.
        await form.GetByLabel("One type").FillAsync(type);
        await form.GetByRole(AriaRole.Button, new() { Name = "Pause type", Exact = true }).ClickAsync();
        await Expect(row.GetByTestId("queue-state")).ToHaveTextAsync($"running; paused: {type}");
        await form.GetByRole(AriaRole.Button, new() { Name = "Resume type", Exact = true }).ClickAsync();
        await Expect(row.GetByTestId("queue-state")).ToHaveTextAsync("running");

        await form.GetByLabel("Concurrency limit (empty: none)").FillAsync("0");
        await form.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(form.GetByRole(AriaRole.Alert)).ToContainTextAsync("concurrency_limit");
        await form.GetByLabel("Concurrency limit (empty: none)").FillAsync("1");
        await form.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
        await Expect(row.GetByTestId("queue-running")).ToHaveTextAsync("0 / 1");

        // The server holds the limit the page set: one claim takes one job, the other is held back.
        Assert.Single(await Client.ClaimAsync($$"""{"worker_id":"dash","queues":["{{queue}}"],"max":5}"""));
        await Expect(row.GetByTestId("queue-running")).ToHaveTextAsync("1 / 1");
    }

    [Fact]
    public async Task A_held_back_job_says_why_on_its_page_and_in_the_list()
    {
        var queue = NewQueue("dash-held");
        var type = NewType("held");
        var id = await CreateAsync(type, extra: $$""","queue":"{{queue}}" """);
        using (var paused = await Client.PostAsync($"/api/v1/queues/{queue}/pause", null))
        {
            Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        }

        await OpenJobAsync(Page, id);
        await Expect(Page.GetByTestId("job-blocked-by")).ToContainTextAsync("Held back: its queue is paused");
        await OpenListAsync(Page, $"?type={type}");
        await Expect(Row(Page, id)).ToContainTextAsync("held back");
    }
}
