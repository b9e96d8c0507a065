using System.Text.RegularExpressions;
using Jobkeeper.Dashboard.Tests.Infrastructure;

namespace Jobkeeper.Dashboard.Tests;

/// <summary>Searching the list: a word of a job's error, an id prefix; the search stays in the address.</summary>
public sealed class SearchTests(DashboardFixture fixture) : DashboardTest(fixture), IClassFixture<DashboardFixture>
{
    [Fact]
    public async Task A_search_finds_a_job_by_a_word_in_its_error_and_by_its_id_prefix()
    {
        var type = NewType("search");
        var word = "zq" + Guid.NewGuid().ToString("N")[..10];
        var failing = await CreateAsync(type);
        await Client.PatchJobAsync(failing, """{"status":"running"}""");
        await Client.PatchJobAsync(failing, $$$"""{"status":"failed","error":{"message":"decoder {{{word}}} crashed"}}""");
        var other = await CreateAsync(type);
        // The search index catches up within about half a second.
        await Api.PollAsync(async () => (await Client.GetJsonAsync($"/api/v1/jobs?q={word}")).GetProperty("items").GetArrayLength() == 1,
            TimeSpan.FromSeconds(30), () => $"the search index to hold {word}");

        await OpenListAsync(Page);
        var search = Page.GetByLabel("Search", new() { Exact = true });
        await search.FillAsync(word.ToUpperInvariant() + " crashed");
        await search.PressAsync("Enter");
        await ExpectRowsAsync(failing);
        await Expect(Page).ToHaveURLAsync(new Regex("q=" + word.ToUpperInvariant()));

        await Page.ReloadAsync();
        await Expect(search).ToHaveValueAsync(word.ToUpperInvariant() + " crashed");
        await ExpectRowsAsync(failing);

        // An id prefix (the id without its last character) finds that job.
        await search.FillAsync(other[..^1]);
        await search.PressAsync("Enter");
        await ExpectRowsAsync(other);
    }

    [Fact]
    public async Task Sorting_by_priority_reorders_the_list_and_stays_in_the_address()
    {
        var type = NewType("sort");
        var low = await CreateAsync(type, extra: ""","priority":-3""");
        var high = await CreateAsync(type, extra: ""","priority":9""");
        var middle = await CreateAsync(type, extra: ""","priority":4""");

        await OpenListAsync(Page, $"?type={type}");
        await ExpectRowsAsync(middle, high, low);
        await Page.GetByLabel("Sort", new() { Exact = true }).SelectOptionAsync("-priority");
        await ExpectRowsAsync(high, middle, low);
        await Expect(Page).ToHaveURLAsync(new Regex("sort=-priority"));
        await Page.ReloadAsync();
        await ExpectRowsAsync(high, middle, low);
        await Page.GetByLabel("Sort", new() { Exact = true }).SelectOptionAsync("priority");
        await ExpectRowsAsync(low, middle, high);
    }

    [Fact]
    public async Task A_date_range_narrows_the_list_and_stays_in_the_address()
    {
        var type = NewType("dates");
        var job = await CreateAsync(type);

        await OpenListAsync(Page, $"?type={type}");
        await ExpectRowsAsync(job);
        var from = Page.GetByLabel("Created from", new() { Exact = true });
        await from.FillAsync(DateTime.Now.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        await Page.GetByRole(AriaRole.Button, new() { Name = "Apply", Exact = true }).ClickAsync();
        await Expect(Page.Locator("table.jobs tbody tr[data-id]")).ToHaveCountAsync(0);
        await Expect(Page).ToHaveURLAsync(new Regex("created_after="));

        await from.FillAsync(DateTime.Now.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        await Page.GetByLabel("Created before", new() { Exact = true }).FillAsync(DateTime.Now.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        await Page.GetByRole(AriaRole.Button, new() { Name = "Apply", Exact = true }).ClickAsync();
        await ExpectRowsAsync(job);
        await Page.ReloadAsync();
        await ExpectRowsAsync(job);
    }

    private Task ExpectRowsAsync(params string[] ids) =>
        Expect(Page.Locator("table.jobs tbody tr[data-id] th a")).ToHaveTextAsync(ids.Select(Whole).ToArray());
}
