using System.Text.RegularExpressions;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>Bulk actions on a filtered list: a dialog states the count, and the action changes exactly that many jobs.</summary>
public sealed class BulkActionTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task A_bulk_retry_of_a_filtered_list_changes_exactly_the_stated_count()
    {
        var type = NewType("bulk");
        var failed = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var id = await CreateAsync(type);
            await Client.PatchJobAsync(id, """{"status":"running"}""");
            await Client.PatchJobAsync(id, """{"status":"failed","error":{"message":"codec missing"}}""");
            failed.Add(id);
        }

        var untouched = await CreateAsync(type);

        // With no filter the buttons offer nothing.
        await OpenListAsync(Page);
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Retry all…" })).ToBeDisabledAsync();

        await OpenListAsync(Page, $"?type={type}&status=failed");
        await Expect(Page.Locator("table.jobs tbody tr[data-id]")).ToHaveCountAsync(7);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Retry all…" }).ClickAsync();
        var dialog = Page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToContainTextAsync($"Retry 7 jobs matching status failed; type {type}?");
        await dialog.GetByLabel("Reason (recorded on each job)").FillAsync("codec installed");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Retry 7 jobs" }).ClickAsync();

        await Expect(Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "7 jobs queued again of 7 matching." })).ToBeVisibleAsync();
        await Expect(Page.Locator("table.jobs tbody tr[data-id]")).ToHaveCountAsync(0);
        foreach (var id in failed)
        {
            var job = await Client.GetJobAsync(id);
            Assert.Equal("queued", job.Str("status"));
            Assert.Equal(2, job.GetProperty("attempt").GetInt32());
        }

        Assert.Equal(1, (await Client.GetJobAsync(untouched)).GetProperty("attempt").GetInt32());
        var events = (await Client.GetJsonAsync($"/api/v1/jobs/{failed[0]}/events")).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal("codec installed", events[^1].Str("reason"));

        // "Keep them" changes nothing.
        await OpenListAsync(Page, $"?type={type}&status=queued");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Cancel all…" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Dialog)).ToContainTextAsync("Cancel 8 jobs");
        await Page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Keep them" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Dialog)).ToBeHiddenAsync();
        Assert.Equal("queued", (await Client.GetJobAsync(untouched)).Str("status"));
        await Expect(Page).ToHaveURLAsync(new Regex("status=queued"));
    }
}
