using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Jobkeeper.Dashboard.Tests.Infrastructure;

/// <summary>
/// Base of the browser tests: a fresh browser context and page per test, and at the end of each test the checks
/// that the page threw no script error and the server answered no request with a 5xx.
/// </summary>
public abstract class DashboardTest(DashboardFixture fixture) : IAsyncLifetime
{
    public static readonly (int Width, int Height) Desktop = (1280, 900);
    public static readonly (int Width, int Height) Phone = (390, 844);

    private readonly List<IBrowserContext> _contexts = [];
    private readonly ConcurrentQueue<string> _problems = new();
    private long _mark;

    protected DashboardFixture Fixture => fixture;

    protected HttpClient Client => fixture.Client;

    /// <summary>A desktop-sized page on the fixture's server (none when the fixture starts no server).</summary>
    protected IPage Page { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _mark = fixture.ServerOrNull?.Responses.Count ?? 0;
        if (fixture.ServerOrNull is not null)
        {
            Page = await NewPageAsync(Desktop);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.CloseAsync();
        }

        Assert.True(_problems.IsEmpty, "the dashboard reported problems:\n" + string.Join("\n", _problems));
        if (fixture.ServerOrNull is { } server)
        {
            var errors = server.Responses.ServerErrorsSince(_mark);
            Assert.True(errors.Count == 0, "5xx responses:\n" + string.Join("\n", errors) + "\n" + server.FailureLines());
        }
    }

    /// <summary>A page in a new context (own cookies and storage) of the given size, on the fixture's server unless
    /// <paramref name="server"/> says otherwise; closed when the test ends.</summary>
    protected async Task<IPage> NewPageAsync((int Width, int Height) size, bool mobile = false, Uri? server = null)
    {
        var context = await fixture.Browser.NewContextAsync(new()
        {
            BaseURL = (server ?? fixture.Server.BaseAddress).ToString(),
            ViewportSize = new() { Width = size.Width, Height = size.Height },
            IsMobile = mobile,
            HasTouch = mobile,
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        _contexts.Add(context);
        context.Page += (_, page) => Watch(page);
        var page = await context.NewPageAsync();
        return page;
    }

    /// <summary>Another tab in the same context as <paramref name="page"/>.</summary>
    protected static Task<IPage> NewTabAsync(IPage page) => page.Context.NewPageAsync();

    private void Watch(IPage page)
    {
        page.PageError += (_, error) => _problems.Enqueue("script error: " + error);
        page.Console += (_, message) =>
        {
            // A 404 the page handles (find by id, a deleted job) is logged by the browser as "Failed to load resource".
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                _problems.Enqueue("console error: " + message.Text);
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 500)
            {
                _problems.Enqueue($"{response.Request.Method} {response.Url} -> {response.Status}");
            }
        };
    }

    /// <summary>Opens the list (optionally with a hash query such as <c>?type=x</c>) and waits until its event stream is connected.</summary>
    protected static async Task<IPage> OpenListAsync(IPage page, string query = "")
    {
        await page.GotoAsync("/" + (query.Length == 0 ? "" : "#/" + query));
        await WaitLiveAsync(page);
        await Expect(page.Locator("table.jobs")).Not.ToHaveAttributeAsync("aria-busy", "true");
        return page;
    }

    /// <summary>Opens a job's page and waits until it shows the job.</summary>
    protected static async Task<IPage> OpenJobAsync(IPage page, string id)
    {
        await page.GotoAsync("/#/jobs/" + Uri.EscapeDataString(id));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = id, Exact = true, Level = 1 })).ToBeVisibleAsync();
        await Expect(JobStatus(page)).Not.ToBeEmptyAsync();
        // The job's own event stream is open: from here on, every change reaches the page.
        await Expect(page.GetByTestId("job")).ToHaveAttributeAsync("data-live", "open");
        return page;
    }

    /// <summary>Waits until the all-jobs event stream is open (the header says "Live").</summary>
    protected static Task WaitLiveAsync(IPage page) => Expect(page.Locator("#live")).ToHaveTextAsync("Live");

    /// <summary>The list's row of a job, found by its link.</summary>
    protected static ILocator Row(IPage page, string id) =>
        page.Locator("table.jobs tbody tr").Filter(new() { Has = page.GetByRole(AriaRole.Link, new() { Name = id, Exact = true }) });

    protected static ILocator Rows(IPage page) => page.Locator("table.jobs tbody tr[data-id]");

    protected static ILocator JobStatus(IPage page) => page.GetByTestId("job-status");

    protected static ILocator JobProgress(IPage page) => page.GetByRole(AriaRole.Progressbar, new() { Name = "Progress", Exact = true });

    protected static ILocator RowProgress(IPage page, string id) =>
        page.GetByRole(AriaRole.Progressbar, new() { Name = "Progress of " + id, Exact = true });

    public static string NewType(string what) => $"dash.{what}.{Guid.NewGuid():N}"[..32];

    public static string NewId(string what) => $"{what}-{Guid.NewGuid():N}"[..28];

    public static Regex Whole(string text) => new("^" + Regex.Escape(text) + "$");

    /// <summary>Creates a job through the API and returns its id.</summary>
    protected async Task<string> CreateAsync(string type, string? id = null, string extra = "")
    {
        var idPart = id is null ? "" : $",\"id\":\"{id}\"";
        var job = await Client.CreateJobAsync($"{{\"type\":\"{type}\"{idPart}{extra}}}");
        return job.Str("id");
    }

    /// <summary>Inputs and buttons on the page without an accessible name (label, aria-label or text).</summary>
    protected static Task<string[]> UnnamedControlsAsync(IPage page) => page.EvaluateAsync<string[]>(
        """
        () => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
          .filter(e => e.offsetParent !== null || e.getClientRects().length > 0)
          .filter(e => !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.textContent.trim()))
          .map(e => e.outerHTML.slice(0, 200))
        """);

    /// <summary>How far the page is wider than the screen, in CSS pixels (0 when it fits).</summary>
    protected static Task<int> HorizontalOverflowAsync(IPage page) =>
        page.EvaluateAsync<int>("() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth");
}
