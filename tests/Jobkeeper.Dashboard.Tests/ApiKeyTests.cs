using System.Security.Cryptography;
using System.Text;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>On a server with API keys the dashboard asks for one, keeps it only in the tab's session, and uses it for the streams too.</summary>
public sealed class ApiKeyTests(BrowserFixture fixture) : DashboardTest(fixture), IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task The_page_asks_for_a_key_refuses_a_wrong_one_and_goes_live_with_the_right_one()
    {
        var key = "jk_dash_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        await using var server = await ServerProcess.StartAsync(prepareWorkingDirectory: dir => File.WriteAllText(Path.Combine(dir, "appsettings.json"),
            "{\"Jobkeeper\":{\"ApiKeys\":[{\"name\":\"dash\",\"hash\":\"" + hash + "\",\"roles\":[\"read\",\"submit\",\"answer\",\"admin\"]}]}}"));
        var type = NewType("keys");
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = Api.Json($$"""{"type":"{{type}}"}""") };
        create.Headers.Add("X-Api-Key", key);
        using var created = await server.Client.SendAsync(create);
        var id = (await Api.ExpectJsonAsync(created, System.Net.HttpStatusCode.Created)).Str("id");

        var page = await NewPageAsync(Desktop, server: server.BaseAddress);
        await page.GotoAsync("/");
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "API key" });
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(dialog).ToContainTextAsync("needs an API key");

        await dialog.GetByLabel("Key").FillAsync("jk_not_a_key");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Use key" }).ClickAsync();
        await Expect(dialog).ToContainTextAsync("did not accept");

        await dialog.GetByLabel("Key").FillAsync(key);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Use key" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = id, Exact = true })).ToBeVisibleAsync();
        await Expect(dialog).Not.ToBeVisibleAsync();
        // The all-jobs stream connected: it took the key as ?access_token=.
        await WaitLiveAsync(page);

        Assert.Equal(key, await page.EvaluateAsync<string>("() => sessionStorage.getItem('jobkeeper.apiKey')"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => localStorage.length"));
        Assert.Empty(await page.Context.CookiesAsync());
    }
}
