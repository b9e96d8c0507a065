using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>The workers page: an HTTP worker with the job it holds, when it was heard from, and what it completed.</summary>
public sealed class WorkersPageTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task An_http_worker_shows_the_job_it_holds_and_what_it_completed()
    {
        var type = NewType("workers");
        var worker = NewId("w-page");
        var done = await CreateAsync(type);
        var held = await CreateAsync(type);
        var first = await Client.ClaimOneAsync(worker, type);
        await Client.ActionAsync(first.Str("id"), "complete", WorkerApi.LeaseBody(first.Token()));
        var second = await Client.ClaimOneAsync(worker, type);
        Assert.Equal([done, held], [first.Str("id"), second.Str("id")]);

        await Page.GotoAsync("/#/workers");
        var row = Page.Locator($"tr[data-worker=\"{worker}\"]");
        await Expect(row).ToContainTextAsync("HTTP");
        await Expect(row.GetByRole(AriaRole.Link, new() { Name = second.Str("id") })).ToBeVisibleAsync();
        // What it did shows once the server stored what it saw (every five seconds); the page refreshes on its own.
        await Expect(row).ToContainTextAsync("1 completed, 0 failed", new() { Timeout = 30_000 });
        await Expect(row.Locator("time")).ToHaveCountAsync(1);
        await Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Workers" })).ToBeVisibleAsync();
    }
}
