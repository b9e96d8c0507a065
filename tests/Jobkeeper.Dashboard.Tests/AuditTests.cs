using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>
/// The person behind the dashboard says who they are (kept in this browser) and why they act: their name and reason
/// go into the job's history for Cancel, Retry, Delete and an answer. Behind API keys the key is the actor and the
/// name stands beside it.
/// </summary>
public sealed class AuditTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task The_name_and_reason_given_on_the_page_are_recorded_for_cancel_retry_and_an_answer()
    {
        var type = NewType("audit");
        var id = await CreateAsync(type);
        await OpenJobAsync(Page, id);
        var name = Page.GetByLabel("Your name");
        await name.FillAsync("Łucja");
        await name.PressAsync("Tab");
        Assert.Equal("Łucja", await Page.EvaluateAsync<string>("() => localStorage.getItem('jobkeeper.actor')"));

        var reason = Page.GetByLabel("Reason (optional)").First;
        await reason.FillAsync("wrong input file — see ticket 42");
        await Actions().GetByRole(AriaRole.Button, new() { Name = "Cancel", Exact = true }).ClickAsync();
        await Expect(JobStatus(Page)).ToHaveTextAsync("cancelled");
        await Expect(reason).ToHaveValueAsync("");

        var cancelled = Page.Locator("ol.timeline li[data-type='status_changed']").Last;
        await Expect(cancelled).ToContainTextAsync("by Łucja");
        await Expect(cancelled).ToContainTextAsync("Reason: wrong input file — see ticket 42");
        var events = await EventsAsync(id);
        var change = events.Last(e => e.Str("type") == "status_changed");
        Assert.Equal("Łucja", change.Str("actor"));
        Assert.Equal("wrong input file — see ticket 42", change.Str("reason"));

        // The name is remembered by this browser: a reload keeps it.
        await Page.ReloadAsync();
        await Expect(Page.GetByLabel("Your name")).ToHaveValueAsync("Łucja");
        await Page.GetByLabel("Reason (optional)").First.FillAsync("input fixed");
        await Actions().GetByRole(AriaRole.Button, new() { Name = "Retry", Exact = true }).ClickAsync();
        await Expect(JobStatus(Page)).ToHaveTextAsync("queued");
        var retried = (await EventsAsync(id)).Single(e => e.Str("type") == "retried");
        Assert.Equal("Łucja", retried.Str("actor"));
        Assert.Equal("input fixed", retried.Str("reason"));

        // An answer carries its own reason.
        var item = await Client.ClaimOneAsync(NewId("w"), type);
        await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), ""","key":"approve","question":"Approve?","options":["yes","no"]"""));
        var prompt = Page.GetByRole(AriaRole.Region, new() { Name = "Waiting for an answer" });
        await prompt.GetByLabel("Reason (optional)").FillAsync("listened to all of it");
        await prompt.GetByRole(AriaRole.Button, new() { Name = "yes", Exact = true }).ClickAsync();
        await Expect(JobStatus(Page)).ToHaveTextAsync("queued");
        var answered = Page.GetByRole(AriaRole.Region, new() { Name = "Answered questions" });
        await Expect(answered).ToContainTextAsync("\"yes\" by Łucja");
        await Expect(answered).ToContainTextAsync("listened to all of it");
        var record = (await Client.GetJobAsync(id)).GetProperty("prompts")[0];
        Assert.Equal("Łucja", record.Str("answered_by"));
        Assert.Equal("listened to all of it", record.Str("reason"));
    }

    [Fact]
    public async Task Behind_a_key_the_key_is_the_actor_and_the_name_given_stands_beside_it()
    {
        var key = "jk_dash_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        await using var server = await ServerProcess.StartAsync(prepareWorkingDirectory: dir => File.WriteAllText(Path.Combine(dir, "appsettings.json"),
            "{\"Jobkeeper\":{\"ApiKeys\":[{\"name\":\"ops-desk\",\"hash\":\"" + hash + "\",\"roles\":[\"admin\"]}]}}"));
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = Api.Json($$"""{"type":"{{NewType("keyed")}}"}""") };
        create.Headers.Add("X-Api-Key", key);
        using var created = await server.Client.SendAsync(create);
        var id = (await Api.ExpectJsonAsync(created, System.Net.HttpStatusCode.Created)).Str("id");

        // The key as the key form stores it, and the name as the name field does, before the page's scripts run.
        var page = await NewPageAsync(Desktop, server: server.BaseAddress);
        await page.AddInitScriptAsync($"sessionStorage.setItem('jobkeeper.apiKey', '{key}'); localStorage.setItem('jobkeeper.actor', 'Alice');");
        await OpenJobAsync(page, id);
        await Expect(page.GetByLabel("Your name")).ToHaveValueAsync("Alice");
        await page.GetByLabel("Reason (optional)").FillAsync("duplicate");
        await page.GetByRole(AriaRole.Group, new() { Name = "Job actions" }).GetByRole(AriaRole.Button, new() { Name = "Cancel", Exact = true }).ClickAsync();
        await Expect(JobStatus(page)).ToHaveTextAsync("cancelled");
        var cancelled = page.Locator("ol.timeline li[data-type='status_changed']").Last;
        await Expect(cancelled).ToContainTextAsync("by ops-desk (says “Alice”)");
        await Expect(cancelled).ToContainTextAsync("Reason: duplicate");
    }

    private ILocator Actions() => Page.GetByRole(AriaRole.Group, new() { Name = "Job actions" });

    private async Task<List<JsonElement>> EventsAsync(string id)
    {
        var body = await Client.GetJsonAsync(Api.JobPath(id) + "/events");
        return [.. body.GetProperty("items").EnumerateArray()];
    }
}
