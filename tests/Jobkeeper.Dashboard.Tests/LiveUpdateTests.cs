using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>The list, the counts and the job page follow changes made through the API, without a reload.</summary>
public sealed class LiveUpdateTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task A_job_created_through_the_api_appears_in_the_open_list_within_a_second()
    {
        await OpenListAsync(Page);
        var navigations = 0;
        Page.FrameNavigated += (_, _) => navigations++;

        var id = NewId("live");
        await CreateAsync(NewType("live"), id);

        await Expect(Row(Page, id)).ToBeVisibleAsync(new() { Timeout = 1000 });
        await Expect(Row(Page, id).Locator(".badge")).ToHaveTextAsync("queued");
        Assert.Equal(0, navigations);
    }

    [Fact]
    public async Task A_job_of_another_type_does_not_enter_a_list_filtered_by_type()
    {
        var type = NewType("only");
        await OpenListAsync(Page, "?type=" + type);

        // Created first, so by the time the matching job shows, the other one has been judged too.
        var other = await CreateAsync(NewType("other"));
        var mine = await CreateAsync(type);

        await Expect(Row(Page, mine)).ToBeVisibleAsync(new() { Timeout = 1000 });
        await Expect(Row(Page, other)).ToHaveCountAsync(0);
        await Expect(Rows(Page)).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task The_progress_bar_moves_in_the_list_and_on_the_job_page_as_progress_is_reported()
    {
        var type = NewType("progress");
        var id = await CreateAsync(type);
        await Client.PatchJobAsync(id, """{"status":"running","progress":{"fraction":0.1,"stage":"decode","message":"reading frames"}}""");

        var list = await OpenListAsync(Page, "?type=" + type);
        var job = await OpenJobAsync(await NewTabAsync(Page), id);
        await Expect(RowProgress(list, id)).ToHaveAttributeAsync("aria-valuenow", "10");
        await Expect(JobProgress(job)).ToHaveAttributeAsync("aria-valuenow", "10");

        await Client.PatchJobAsync(id, """{"progress":{"fraction":0.35,"stage":"tempo","message":"detecting tempo","current":35,"total":100}}""");
        await Expect(RowProgress(list, id)).ToHaveAttributeAsync("aria-valuenow", "35");
        await Expect(JobProgress(job)).ToHaveAttributeAsync("aria-valuenow", "35");
        var progress = job.GetByRole(AriaRole.Region, new() { Name = "Progress" });
        await Expect(progress).ToContainTextAsync("tempo");
        await Expect(progress).ToContainTextAsync("detecting tempo");
        await Expect(progress).ToContainTextAsync("35 of 100");

        await Client.PatchJobAsync(id, """{"progress":{"fraction":0.8,"stage":"key"}}""");
        await Expect(RowProgress(list, id)).ToHaveAttributeAsync("aria-valuenow", "80");
        await Expect(JobProgress(job)).ToHaveAttributeAsync("aria-valuenow", "80");
        await Expect(progress).ToContainTextAsync("key");

        // The timeline got the new events as they happened.
        await Expect(job.Locator("ol.timeline li[data-type='updated']")).ToHaveCountAsync(3);
    }

    [Fact]
    public async Task Status_changes_show_in_the_list_on_the_job_page_and_in_the_counts()
    {
        var type = NewType("status");
        var id = await CreateAsync(type);
        var list = await OpenListAsync(Page, "?type=" + type);
        var job = await OpenJobAsync(await NewTabAsync(Page), id);
        await Expect(JobStatus(job)).ToHaveTextAsync("queued");
        var running = await CountAsync(list, "running");

        await Client.PatchJobAsync(id, """{"status":"running"}""");
        await Expect(Row(list, id).Locator(".badge")).ToHaveTextAsync("running");
        await Expect(JobStatus(job)).ToHaveTextAsync("running");
        // Set running by an API call: the caller drives it under a lease, and the page says who.
        await Expect(job.Locator("dt:text-is('Driven by') + dd")).ToHaveTextAsync("api");
        await Expect(CountLink(list, "running")).ToContainTextAsync((running + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));

        await Client.PatchJobAsync(id, """{"status":"completed","result":{"bpm":120}}""");
        await Expect(Row(list, id).Locator(".badge")).ToHaveTextAsync("completed");
        await Expect(JobStatus(job)).ToHaveTextAsync("completed");
        await Expect(job.GetByRole(AriaRole.Region, new() { Name = "Result" }).Locator("pre")).ToContainTextAsync("\"bpm\": 120");
        await Expect(RowProgress(list, id)).ToHaveAttributeAsync("aria-valuenow", "100");
        await Expect(CountLink(list, "running")).ToContainTextAsync(running.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task The_counts_match_health_and_link_to_the_list_filtered_by_status()
    {
        var id = await CreateAsync(NewType("counts"));
        await Client.ControlAsync(id, "cancel");
        await OpenListAsync(Page);

        var health = await Client.GetJsonAsync("/health");
        var cancelled = health.GetProperty("jobs_by_status").GetProperty("cancelled").GetInt64();
        await Expect(CountLink(Page, "cancelled")).ToContainTextAsync(cancelled.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await CountLink(Page, "cancelled").ClickAsync();
        await Expect(Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/\\?status=cancelled$"));
        await Expect(Page.GetByRole(AriaRole.Checkbox, new() { Name = "cancelled", Exact = true })).ToBeCheckedAsync();
        await Expect(CountLink(Page, "cancelled")).ToHaveAttributeAsync("aria-current", "page");
        await Expect(CountLink(Page, "all")).Not.ToHaveAttributeAsync("aria-current", "page");
        await Expect(Row(Page, id)).ToBeVisibleAsync();
        await Expect(Page.Locator("table.jobs tbody .badge").Filter(new() { HasNotText = "cancelled" })).ToHaveCountAsync(0);
    }

    private static ILocator CountLink(IPage page, string status) => page.Locator($"#counts a[data-status='{status}']");

    private static async Task<int> CountAsync(IPage page, string status)
    {
        var number = CountLink(page, status).Locator(".count");
        await Expect(number).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9]+$"));
        return int.Parse(await number.TextContentAsync() ?? "", System.Globalization.CultureInfo.InvariantCulture);
    }
}
