using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>
/// Pictures of the list and a job page, on a desktop and a phone, and of the inbox, the workers and a bulk confirmation, from a server holding a small realistic set of jobs
/// (this class has a server of its own). Saved under artifacts/test-results/screenshots/; docs/images/ holds copies.
/// </summary>
public sealed class ScreenshotTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task The_list_and_a_job_page_on_a_desktop_and_a_phone()
    {
        var review = await SeedAsync();

        foreach (var (size, mobile, name) in new[] { (Desktop, false, "desktop"), (Phone, true, "phone") })
        {
            var page = await NewPageAsync(size, mobile);
            await OpenListAsync(page);
            await Expect(Rows(page)).ToHaveCountAsync(6);
            await Expect(page.Locator("#counts a[data-status='all'] .count")).ToHaveTextAsync("6");
            await ExpectPngAsync(await Screenshots.SaveAsync(page, $"dashboard-list-{name}"), size.Width);

            await Row(page, review).GetByRole(AriaRole.Link).ClickAsync();
            await Expect(page.GetByTestId("job")).ToHaveAttributeAsync("data-live", "open");
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "yes", Exact = true })).ToBeVisibleAsync();
            await Expect(page.Locator("ol.timeline li")).ToHaveCountAsync(await EventCountAsync(review));
            await ExpectPngAsync(await Screenshots.SaveAsync(page, $"dashboard-job-{name}"), size.Width);
        }

        // The review inbox, the workers, and a bulk retry's confirmation, on a desktop.
        var desktop = await NewPageAsync(Desktop);
        await desktop.GotoAsync("/#/inbox");
        await Expect(desktop.Locator($"section.prompt[data-job=\"{review}\"]")).ToContainTextAsync("Is 120 bpm right for episode 42?");
        await ExpectPngAsync(await Screenshots.SaveAsync(desktop, "dashboard-inbox-desktop"), Desktop.Width);

        await desktop.GotoAsync("/#/workers");
        await Expect(desktop.Locator("tr[data-worker=\"review-worker-1\"]")).ToContainTextAsync("HTTP", new() { Timeout = 30_000 });
        await ExpectPngAsync(await Screenshots.SaveAsync(desktop, "dashboard-workers-desktop"), Desktop.Width);

        await OpenListAsync(desktop, "?status=failed,cancelled");
        await desktop.GetByRole(AriaRole.Button, new() { Name = "Retry all…" }).ClickAsync();
        await Expect(desktop.GetByRole(AriaRole.Dialog)).ToContainTextAsync("Retry 2 jobs");
        await ExpectPngAsync(await Screenshots.SaveAsync(desktop, "dashboard-bulk-desktop"), Desktop.Width);
        await desktop.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Keep them" }).ClickAsync();
    }

    /// <summary>Six jobs in every status; returns the id of the one waiting on a question.</summary>
    private async Task<string> SeedAsync()
    {
        var cancelled = await CreateAsync("video.render", "ep39-render", ""","input":{"file":"ep39.mov","preset":"1080p"}""");
        await Client.ControlAsync(cancelled, "cancel");

        var failed = await CreateAsync("video.render", "ep40-render", ""","input":{"file":"ep40.mov","preset":"4k"},"labels":{"episode_id":"40"}""");
        await Client.PatchJobAsync(failed, """{"status":"running","progress":{"fraction":0.2,"stage":"encode"}}""");
        await Client.PatchJobAsync(failed, """{"status":"failed","error":{"message":"encoder ran out of memory","code":"E_OOM","details":{"frame":1184}}}""");

        var completed = await CreateAsync("audio.analyze", "ep41-analysis", ""","input":{"file":"ep41.mp3"},"labels":{"episode_id":"41","series_id":"night-shift"}""");
        await Client.PatchJobAsync(completed, """{"status":"running","progress":{"fraction":0.5,"stage":"tempo"}}""");
        await Client.PatchJobAsync(completed, """{"status":"completed","progress":{"fraction":1,"stage":"done"},"result":{"bpm":120,"key":"A minor"}}""");

        var running = await CreateAsync("audio.analyze", "ep42-analysis", ""","input":{"file":"ep42.mp3"},"labels":{"episode_id":"42","series_id":"night-shift"}""");
        await Client.PatchJobAsync(running, """{"status":"running","progress":{"fraction":0.64,"stage":"key","message":"estimating the key","current":64,"total":100}}""");

        var review = await CreateAsync("audio.review", "ep42-review",
            ""","input":{"file":"ep42.mp3","bpm":120},"labels":{"episode_id":"42","series_id":"night-shift"}""");
        var item = await Client.ClaimOneAsync("review-worker-1", "audio.review");
        await Client.ActionAsync(review, "progress", WorkerApi.LeaseBody(item.Token(), ""","fraction":0.5,"stage":"review","message":"tempo measured" """));
        await Client.ActionAsync(review, "prompt",
            WorkerApi.LeaseBody(item.Token(), ""","key":"tempo","question":"Is 120 bpm right for episode 42?","options":["yes","no"],"expires_in_seconds":14400""" + "," + "\"on_expiry\":\"fail\""));

        await CreateAsync("llm.transcribe", "ep43-transcript", ""","input":{"file":"ep43.mp3","language":"en"},"labels":{"episode_id":"43"}""");
        return review;
    }

    private async Task<int> EventCountAsync(string id) => (await Client.EventsAsync(id)).Count;

    private static async Task ExpectPngAsync(string path, int width)
    {
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.True(bytes.Length > 1000, $"{path} is only {bytes.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        // The IHDR chunk holds the width, big-endian, at bytes 16–19; a full-page shot is as wide as the viewport.
        Assert.Equal(width, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]);
    }
}
