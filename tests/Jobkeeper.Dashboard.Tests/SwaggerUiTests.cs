using System.Security.Cryptography;
using System.Text;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>
/// <c>/docs</c> on a server with API keys: Swagger UI offers Authorize (from the document's security schemes), takes
/// the key, and "Try it out" on create, with the document's example as it stands, creates a job.
/// </summary>
public sealed class SwaggerUiTests(BrowserFixture fixture) : DashboardTest(fixture), IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Authorize_takes_the_key_and_try_it_out_on_create_answers_201()
    {
        var key = "jk_docs_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        await using var server = await ServerProcess.StartAsync(prepareWorkingDirectory: dir => File.WriteAllText(Path.Combine(dir, "appsettings.json"),
            "{\"Jobkeeper\":{\"ApiKeys\":[{\"name\":\"docs\",\"hash\":\"" + hash + "\",\"roles\":[\"submit\"]}]}}"));
        var page = await NewPageAsync(Desktop, server: server.BaseAddress);
        await page.GotoAsync("/docs/index.html");

        await page.Locator("button.authorize").First.ClickAsync();
        var modal = page.Locator(".modal-ux");
        await Expect(modal).ToBeVisibleAsync();
        // The X-Api-Key scheme's value field (the bearer scheme has one too; either is enough).
        var apiKey = modal.Locator(".auth-container").Filter(new() { HasText = "X-Api-Key" });
        await apiKey.Locator("input").FillAsync(key);
        await apiKey.Locator("button.authorize").ClickAsync();
        await page.Locator(".modal-ux .close-modal").ClickAsync();

        var create = page.Locator("#operations-Jobs-CreateJob");
        await create.Locator(".opblock-summary").First.ClickAsync();
        await create.Locator("button.try-out__btn").ClickAsync();
        await create.Locator("button.execute").ClickAsync();
        // The server has keys: a 201 means the key from Authorize went with the request.
        await Expect(create.Locator(".live-responses-table tbody .response-col_status").First).ToHaveTextAsync("201");
    }
}
