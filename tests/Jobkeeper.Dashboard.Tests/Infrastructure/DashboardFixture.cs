namespace Jobkeeper.Dashboard.Tests.Infrastructure;

/// <summary>
/// One real server process and one headless Chromium for the tests of a class (xunit makes one fixture per class).
/// Each test opens its own browser context (see <see cref="DashboardTest"/>). Disposing closes the browser and
/// stops the server.
/// </summary>
public class DashboardFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private ServerProcess? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>False for tests that start and stop servers of their own.</summary>
    protected virtual bool StartsServer => true;

    public ServerProcess? ServerOrNull => _server;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("This fixture starts no server.");

    public HttpClient Client => Server.Client;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: run scripts/install-chromium.sh (scripts/test.sh does).");
        }

        // Expectations wait this long unless a test says otherwise; generous, as the suite shares 2 cores with other test runs.
        SetDefaultExpectTimeout(15_000);
        // Both take a second or more on a busy machine; neither needs the other.
        var server = StartsServer ? ServerProcess.StartAsync() : Task.FromResult<ServerProcess>(null!);
        try
        {
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            });
        }
        finally
        {
            // Kept even when the browser failed, so DisposeAsync stops it.
            _server = await server;
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_browser is not null)
            {
                await _browser.CloseAsync();
            }
        }
        finally
        {
            _playwright?.Dispose();
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }
    }
}

/// <summary>Only the browser: for tests that run servers of their own.</summary>
public sealed class BrowserFixture : DashboardFixture
{
    protected override bool StartsServer => false;
}
