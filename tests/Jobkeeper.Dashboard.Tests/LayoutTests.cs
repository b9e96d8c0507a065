using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>Phone-sized screens, accessible names and visible focus.</summary>
public sealed class LayoutTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task On_a_phone_the_list_and_the_job_page_fit_the_screen_and_every_control_is_named()
    {
        // Long unbroken values are what push a page wider than a phone.
        var id = "phone-" + new string('x', 80) + Guid.NewGuid().ToString("N")[..8];
        var type = "media.transcode." + new string('y', 60);
        await CreateAsync(type, id, $$""","labels":{"episode_id":"{{new string('4', 70)}}"},"input":{"url":"https://example.test/{{new string('z', 200)}}"}""");
        await Client.PatchJobAsync(id, """{"status":"running","progress":{"fraction":0.5,"stage":"encode","message":"pass 2 of 2"}}""");

        var page = await NewPageAsync(Phone, mobile: true);
        await OpenListAsync(page);
        await Expect(Row(page, id)).ToBeVisibleAsync();
        Assert.Equal(0, await HorizontalOverflowAsync(page));
        Assert.Empty(await UnnamedControlsAsync(page));
        // On a phone the filters fold into one line that says how many are set; it opens them.
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Apply", Exact = true })).ToBeHiddenAsync();
        var fold = page.Locator("details.filter-box > summary");
        await Expect(fold).ToHaveTextAsync("Filters");
        await fold.ClickAsync();
        Assert.Equal(0, await HorizontalOverflowAsync(page));
        foreach (var name in new[] { "Apply", "Clear", "Open" })
        {
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true })).ToBeVisibleAsync();
        }

        foreach (var label in new[] { "Type", "Label", "Per page", "Job id" })
        {
            await Expect(page.GetByLabel(label, new() { Exact = true })).ToBeVisibleAsync();
        }

        await Expect(page.GetByRole(AriaRole.Checkbox, new() { Name = "waiting", Exact = true })).ToBeVisibleAsync();
        await Expect(RowProgress(page, id)).ToHaveAttributeAsync("aria-valuenow", "50");

        await Row(page, id).GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = id, Level = 1 })).ToBeVisibleAsync();
        await Expect(JobStatus(page)).ToHaveTextAsync("running");
        Assert.Equal(0, await HorizontalOverflowAsync(page));
        Assert.Empty(await UnnamedControlsAsync(page));
        foreach (var name in new[] { "Cancel", "Retry", "Delete" })
        {
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = name, Exact = true })).ToBeVisibleAsync();
        }

        await Expect(JobProgress(page)).ToHaveAttributeAsync("aria-valuenow", "50");

        await page.GotoAsync("/#/?status=failed,cancelled");
        await Expect(page.Locator("details.filter-box > summary")).ToHaveTextAsync("Filters · 2 set");
    }

    [Fact]
    public async Task A_waiting_job_with_a_long_question_fits_a_phone()
    {
        var type = NewType("phone-prompt");
        var id = await CreateAsync(type);
        var item = await Client.ClaimOneAsync(NewId("w"), type);
        var question = "Is " + new string('q', 150) + " right?";
        await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), $$""","key":"k","question":"{{question}}" """));

        var page = await NewPageAsync(Phone, mobile: true);
        await OpenJobAsync(page, id);
        await Expect(page.GetByRole(AriaRole.Region, new() { Name = "Waiting for an answer" })).ToContainTextAsync(question);
        await Expect(page.GetByLabel("Answer", new() { Exact = true })).ToBeVisibleAsync();
        Assert.Equal(0, await HorizontalOverflowAsync(page));
        Assert.Empty(await UnnamedControlsAsync(page));
    }

    [Fact]
    public async Task Keyboard_focus_is_visible()
    {
        await OpenListAsync(Page);
        await Page.Keyboard.PressAsync("Tab");
        var skip = Page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" });
        await Expect(skip).ToBeFocusedAsync();
        await Expect(skip).ToBeInViewportAsync();

        // Tab on to the first button: every focused control gets a solid outline.
        var apply = Page.GetByRole(AriaRole.Button, new() { Name = "Apply", Exact = true });
        for (var i = 0; i < 80 && !await apply.EvaluateAsync<bool>("e => e === document.activeElement"); i++)
        {
            await Page.Keyboard.PressAsync("Tab");
            var outline = await Page.EvaluateAsync<string>("() => getComputedStyle(document.activeElement).outlineStyle");
            Assert.Equal("solid", outline);
        }

        await Expect(apply).ToBeFocusedAsync();
    }
}
