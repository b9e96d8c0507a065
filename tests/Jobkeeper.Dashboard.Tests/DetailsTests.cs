using System.Text.RegularExpressions;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>What the list and the job page show beside the bare facts: how long ago, how long it took, percentages, a cancel requested.</summary>
public sealed class DetailsTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task Rows_show_percent_relative_times_a_cancel_requested_badge_and_ids_on_one_line()
    {
        var type = NewType("details");
        var id = await CreateAsync(type);
        await Client.PatchJobAsync(id, """{"status":"running","progress":{"fraction":0.425}}""");
        await Client.ControlAsync(id, "cancel");

        await OpenListAsync(Page, $"?type={type}");
        var row = Row(Page, id);
        await Expect(row.Locator(".progress-text")).ToHaveTextAsync("42.5%");
        await Expect(row.Locator(".badge.cancel-requested")).ToHaveTextAsync("cancel requested");
        await Expect(row.Locator(".rel")).ToHaveTextAsync(new Regex("^(just now|\\d+ s ago)$"));
        Assert.Equal("nowrap", await row.Locator("th.id").EvaluateAsync<string>("e => getComputedStyle(e).whiteSpace"));

        await OpenJobAsync(Page, id);
        await Expect(Page.Locator(".cancel-slot .badge")).ToHaveTextAsync("cancel requested");
        var facts = Page.Locator("dl.facts:not(.compact)");
        await Expect(facts).ToContainTextAsync("Waited");
        await Expect(facts).ToContainTextAsync(new Regex("Ran.*so far"));
    }

    [Fact]
    public async Task A_message_about_one_list_does_not_follow_to_another()
    {
        var type = NewType("notice");
        await CreateAsync(type);
        await OpenListAsync(Page, $"?type={type}&status=queued");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Cancel all…" }).ClickAsync();
        await Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Cancel 1 job" }).ClickAsync();
        var notice = Page.Locator("p.notice");
        await Expect(notice).ToHaveTextAsync("1 job cancelled or told to stop of 1 matching.");

        await Page.GetByRole(AriaRole.Checkbox, new() { Name = "cancelled", Exact = true }).CheckAsync();
        await Expect(notice).ToBeHiddenAsync();
    }
}
