using System.Text.RegularExpressions;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>The list's filters (status, type, queue, label), finding a job by id, and paging with "Load more".</summary>
public sealed class FilterTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task Status_type_and_label_filters_narrow_the_list()
    {
        var type = NewType("filters");
        var batch = Guid.NewGuid().ToString("N");
        var labels = $$""","labels":{"batch":"{{batch}}"}""";
        var queued = await CreateAsync(type, extra: labels);
        var running = await CreateAsync(type);
        await Client.PatchJobAsync(running, """{"status":"running"}""");
        var cancelled = await CreateAsync(type, extra: labels);
        await Client.ControlAsync(cancelled, "cancel");
        var otherType = await CreateAsync(NewType("filters"), extra: labels);

        await OpenListAsync(Page);
        var typeField = Page.GetByLabel("Type", new() { Exact = true });
        await typeField.FillAsync(type);
        await typeField.PressAsync("Enter");
        await ExpectRowsAsync(cancelled, running, queued);

        await Page.GetByRole(AriaRole.Checkbox, new() { Name = "running", Exact = true }).CheckAsync();
        await ExpectRowsAsync(running);
        await Page.GetByRole(AriaRole.Checkbox, new() { Name = "cancelled", Exact = true }).CheckAsync();
        await ExpectRowsAsync(cancelled, running);
        await Expect(Page).ToHaveURLAsync(new Regex("status=running%2Ccancelled|status=running,cancelled"));

        await Page.GetByRole(AriaRole.Button, new() { Name = "Clear", Exact = true }).ClickAsync();
        var labelField = Page.GetByLabel("Label", new() { Exact = true });
        await labelField.FillAsync("batch:" + batch);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Apply", Exact = true }).ClickAsync();
        await ExpectRowsAsync(otherType, cancelled, queued);

        // The filters live in the address: a reload shows the same list.
        await Page.ReloadAsync();
        await Expect(labelField).ToHaveValueAsync("batch:" + batch);
        await ExpectRowsAsync(otherType, cancelled, queued);
    }

    [Fact]
    public async Task The_queue_filter_narrows_the_list_and_each_row_shows_its_queue()
    {
        var type = NewType("queues");
        var queue = "renders-" + Guid.NewGuid().ToString("N")[..12];
        var inQueue = await CreateAsync(type, extra: $$""","queue":"{{queue}}" """);
        var inDefault = await CreateAsync(type);

        await OpenListAsync(Page, $"?type={type}");
        await ExpectRowsAsync(inDefault, inQueue);
        var queueField = Page.GetByLabel("Queue", new() { Exact = true });
        await queueField.FillAsync(queue);
        await queueField.PressAsync("Enter");
        await ExpectRowsAsync(inQueue);
        await Expect(Page).ToHaveURLAsync(new Regex("queue=" + queue));
        await Expect(Page.Locator("table.jobs tbody td.queue")).ToHaveTextAsync([queue]);

        await Page.ReloadAsync();
        await Expect(queueField).ToHaveValueAsync(queue);
        await ExpectRowsAsync(inQueue);
    }

    [Fact]
    public async Task A_label_filter_the_server_refuses_shows_its_problem_detail()
    {
        await OpenListAsync(Page);
        var labelField = Page.GetByLabel("Label", new() { Exact = true });
        await labelField.FillAsync("no-colon");
        await labelField.PressAsync("Enter");

        using var refused = await Client.GetAsync(Api.Jobs + "?label=no-colon");
        var problem = await Api.ExpectProblemAsync(refused, System.Net.HttpStatusCode.BadRequest, "label");
        await Expect(Page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "label" })).ToHaveTextAsync(problem.Str("detail"));
        await Expect(Rows(Page)).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Searching_an_exact_id_opens_that_job_and_an_unknown_id_says_so()
    {
        var id = NewId("find");
        await CreateAsync(NewType("find"), id);
        for (var i = 0; i < 3; i++)
        {
            await CreateAsync(NewType("find"));
        }

        await OpenListAsync(Page);
        var search = Page.GetByRole(AriaRole.Search, new() { Name = "Find a job by id" });
        var field = search.GetByLabel("Job id");
        await field.FillAsync("missing-" + id);
        await field.PressAsync("Enter");
        await Expect(search.GetByRole(AriaRole.Alert)).ToHaveTextAsync($"No job with id “missing-{id}”.");

        await field.FillAsync(id);
        await search.GetByRole(AriaRole.Button, new() { Name = "Open" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = id, Exact = true, Level = 1 })).ToBeVisibleAsync();
        await Expect(Page).ToHaveURLAsync(new Regex("#/jobs/" + Regex.Escape(id) + "$"));
        await Expect(JobStatus(Page)).ToHaveTextAsync("queued");

        await Page.GetByRole(AriaRole.Link, new() { Name = "← All jobs" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Jobs", Exact = true, Level = 1 })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Load_more_shows_the_next_page_until_there_is_none()
    {
        var type = NewType("paging");
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            ids.Add(await CreateAsync(type));
        }

        ids.Reverse(); // the list is newest first
        await OpenListAsync(Page, $"?type={type}&limit=10");
        await Expect(Page.GetByLabel("Per page")).ToHaveValueAsync("10");
        await ExpectRowsAsync([.. ids.Take(10)]);
        var more = Page.GetByRole(AriaRole.Button, new() { Name = "Load more" });
        await Expect(more).ToBeVisibleAsync();

        await more.ClickAsync();
        await ExpectRowsAsync([.. ids]);
        await Expect(more).ToBeHiddenAsync();

        // A job created now goes on top, live, without disturbing the pages already shown.
        var newest = await CreateAsync(type);
        await ExpectRowsAsync([newest, .. ids]);
    }

    /// <summary>The list shows exactly these jobs, in this order.</summary>
    private Task ExpectRowsAsync(params string[] ids) =>
        Expect(Page.Locator("table.jobs tbody tr[data-id] th a")).ToHaveTextAsync(ids.Select(Whole).ToArray());
}
