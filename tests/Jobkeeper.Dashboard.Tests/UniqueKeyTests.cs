using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>The job page shows the unique key a job was created with, and a debounce that folded into it in the history.</summary>
public sealed class UniqueKeyTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task The_job_page_shows_the_unique_key_and_each_debounce_in_the_history()
    {
        var key = $"render:{Guid.NewGuid():N}";
        var type = NewType("debounce");
        var job = await Api.CreateJobAsync(Client, $$"""{"type":"{{type}}","unique_key":"{{key}}","debounce_seconds":600}""");
        using var again = await Client.PostJsonAsync("api/v1/jobs", $$"""{"type":"{{type}}","unique_key":"{{key}}","debounce_seconds":600}""");
        Assert.Equal(System.Net.HttpStatusCode.OK, again.StatusCode);

        await OpenJobAsync(Page, job.Str("id"));
        await Expect(Page.Locator("dl.facts dt:text-is('Unique key') + dd")).ToHaveTextAsync(key);
        await Expect(Page.Locator(".timeline li[data-type='debounced'] .event-summary")).ToContainTextAsync("input replaced");
    }
}
