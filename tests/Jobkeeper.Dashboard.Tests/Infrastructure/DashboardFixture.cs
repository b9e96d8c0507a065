namespace Jobkeeper.Dashboard.Tests.Infrastructure;

/// <summary>
/// One real server process and one headless Chromium for the tests of a class (xunit makes one fixture per class).
/// Each test opens its own browser context (see <see cref="DashboardTest"/>). Disposing closes the browser and
/// stops the server.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private ServerProcess? _server;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("The server has not started.");

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
        _server = await ServerProcess.StartAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
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
