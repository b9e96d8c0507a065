using System.Net;
using System.Text.RegularExpressions;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>Cancel, Retry and Delete on the job page: enabled only where the status allows, and doing what they say.</summary>
public sealed class JobActionsTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task Cancel_then_retry_from_the_buttons_queues_the_job_again_as_attempt_two()
    {
        var id = await CreateAsync(NewType("cancel"));
        await OpenJobAsync(Page, id);
        var cancel = Button("Cancel");
        var retry = Button("Retry");
        await Expect(JobStatus(Page)).ToHaveTextAsync("queued");
        await Expect(cancel).ToBeEnabledAsync();
        await Expect(retry).ToBeDisabledAsync();

        await cancel.ClickAsync();
        await Expect(JobStatus(Page)).ToHaveTextAsync("cancelled");
        await Expect(cancel).ToBeDisabledAsync();
        await Expect(retry).ToBeEnabledAsync();
        Assert.Equal("cancelled", (await Client.GetJobAsync(id)).Str("status"));

        await retry.ClickAsync();
        await Expect(JobStatus(Page)).ToHaveTextAsync("queued");
        await Expect(Page.GetByTestId("job-attempt")).ToContainTextAsync("attempt 2 of");
        await Expect(cancel).ToBeEnabledAsync();
        await Expect(retry).ToBeDisabledAsync();
        var job = await Client.GetJobAsync(id);
        Assert.Equal("queued", job.Str("status"));
        Assert.Equal(2, job.GetProperty("attempt").GetInt32());

        // The history names who did it.
        await Expect(Page.Locator("ol.timeline li[data-type='retried']")).ToContainTextAsync("by dashboard");
    }

    [Theory]
    [InlineData("running", true, false)]
    [InlineData("completed", false, false)]
    [InlineData("failed", false, true)]
    public async Task The_buttons_follow_the_status(string status, bool canCancel, bool canRetry)
    {
        var id = await CreateAsync(NewType("buttons"));
        await Client.PatchJobAsync(id, """{"status":"running"}""");
        if (status != "running")
        {
            var error = status == "failed" ? ""","error":{"message":"decoder crashed","code":"E_DECODE"}""" : "";
            await Client.PatchJobAsync(id, $$"""{"status":"{{status}}"{{error}}}""");
        }

        await OpenJobAsync(Page, id);
        await Expect(JobStatus(Page)).ToHaveTextAsync(status);
        await (canCancel ? Expect(Button("Cancel")).ToBeEnabledAsync() : Expect(Button("Cancel")).ToBeDisabledAsync());
        await (canRetry ? Expect(Button("Retry")).ToBeEnabledAsync() : Expect(Button("Retry")).ToBeDisabledAsync());
        await Expect(Button("Delete")).ToBeEnabledAsync();
        if (status == "failed")
        {
            var error = Page.GetByRole(AriaRole.Region, new() { Name = "Error" });
            await Expect(error).ToContainTextAsync("decoder crashed");
            await Expect(error).ToContainTextAsync("E_DECODE");
        }
    }

    [Fact]
    public async Task Delete_asks_first_then_removes_the_job_from_the_list_and_its_page()
    {
        var type = NewType("delete");
        var id = await CreateAsync(type);
        var keep = await CreateAsync(type);
        await OpenJobAsync(Page, id);

        // Dismissed: nothing happens.
        var asked = new List<string>();
        void Dismiss(object? sender, IDialog dialog)
        {
            asked.Add(dialog.Message);
            _ = dialog.DismissAsync();
        }

        Page.Dialog += Dismiss;
        await Button("Delete").ClickAsync();
        await Expect(Button("Delete")).ToBeEnabledAsync();
        Assert.Single(asked);
        Assert.Contains(id, asked[0], StringComparison.Ordinal);
        Assert.Equal("queued", (await Client.GetJobAsync(id)).Str("status"));
        Page.Dialog -= Dismiss;

        // Accepted: the job is gone and the list shows without it.
        Page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        await Button("Delete").ClickAsync();
        await Expect(Page).ToHaveURLAsync(new Regex("#/$"));
        await Expect(Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "Deleted job" })).ToContainTextAsync(id);
        await Page.GetByLabel("Type", new() { Exact = true }).FillAsync(type);
        await Page.GetByLabel("Type", new() { Exact = true }).PressAsync("Enter");
        await Expect(Row(Page, keep)).ToBeVisibleAsync();
        await Expect(Row(Page, id)).ToHaveCountAsync(0);
        using (var response = await Client.GetAsync(Api.JobPath(id)))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        await Page.GotoAsync("/#/jobs/" + id);
        await Expect(Page.GetByRole(AriaRole.Alert).Filter(new() { HasText = "not found" })).ToContainTextAsync(id);
        await Expect(Button("Cancel")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task A_refused_action_shows_the_problem_detail()
    {
        var id = await CreateAsync(NewType("refused"));
        await OpenJobAsync(Page, id);
        await Expect(Button("Cancel")).ToBeEnabledAsync();

        // Someone else deletes the job after the page loaded: cancelling it now gets a 404 problem.
        using (var deleted = await Client.DeleteAsync(Api.JobPath(id)))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await Button("Cancel").ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Alert).Filter(new() { HasText = id })).ToContainTextAsync($"No job with id '{id}' exists.");
    }

    private ILocator Button(string name) =>
        Page.GetByRole(AriaRole.Group, new() { Name = "Job actions" }).GetByRole(AriaRole.Button, new() { Name = name, Exact = true });
}
