using System.Net;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>The schedules page: create one (a bad cron named), see its next fires, pause, resume, run now, and the job that made.</summary>
public sealed class SchedulesPageTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task The_schedules_page_creates_pauses_resumes_and_runs_a_schedule_that_the_server_then_holds()
    {
        var name = $"dash-{Guid.NewGuid():N}"[..24];
        var type = NewType("schedule-page");
        await Page.GotoAsync("/#/schedules");
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Schedules", Exact = true, Level = 1 })).ToBeVisibleAsync();

        var form = Page.GetByTestId("schedule-form");
        await form.GetByLabel("Name").FillAsync(name);
        await form.GetByLabel("Cron (or leave empty)").FillAsync("0 25 * * *");
        await form.GetByLabel("Job type").FillAsync(type);
        await form.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();
        await Expect(form.GetByRole(AriaRole.Alert)).ToContainTextAsync("cron");

        await form.GetByLabel("Cron (or leave empty)").FillAsync("0 3 * * *");
        await form.GetByLabel("Time zone").FillAsync("Europe/Berlin");
        await form.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();
        var row = Page.Locator($"table.schedules tr[data-schedule=\"{name}\"]");
        await Expect(row.GetByTestId("schedule-state")).ToHaveTextAsync("active");
        await Expect(row.GetByTestId("schedule-next").Locator("li")).ToHaveCountAsync(3);
        Assert.Equal("Europe/Berlin", (await Client.GetJsonAsync($"/api/v1/schedules/{name}")).Str("time_zone"));

        await row.GetByRole(AriaRole.Button, new() { Name = "Pause", Exact = true }).ClickAsync();
        await Expect(row.GetByTestId("schedule-state")).ToHaveTextAsync("paused");
        Assert.True((await Client.GetJsonAsync($"/api/v1/schedules/{name}")).GetProperty("paused").GetBoolean());
        await row.GetByRole(AriaRole.Button, new() { Name = "Resume", Exact = true }).ClickAsync();
        await Expect(row.GetByTestId("schedule-state")).ToHaveTextAsync("active");

        await row.GetByRole(AriaRole.Button, new() { Name = "Run now", Exact = true }).ClickAsync();
        await Expect(row.GetByTestId("schedule-last").GetByRole(AriaRole.Link, new() { Name = "its job" })).ToBeVisibleAsync();
        var lastJob = (await Client.GetJsonAsync($"/api/v1/schedules/{name}")).Str("last_job_id");
        Assert.Equal(type, (await Client.GetJobAsync(lastJob)).Str("type"));
    }
}
