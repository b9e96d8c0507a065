namespace Jobkeeper.Dashboard.Tests.Infrastructure;

/// <summary>Where screenshots go: <c>$TEST_RESULTS_DIR/screenshots</c> (default <c>artifacts/test-results</c>), relative to the repository root.</summary>
public static class Screenshots
{
    public static string Directory
    {
        get
        {
            var results = Environment.GetEnvironmentVariable("TEST_RESULTS_DIR");
            if (string.IsNullOrWhiteSpace(results))
            {
                results = Path.Combine("artifacts", "test-results");
            }

            var path = Path.Combine(Path.GetFullPath(results, ServerProcess.RepositoryRoot()), "screenshots");
            System.IO.Directory.CreateDirectory(path);
            return path;
        }
    }

    /// <summary>Saves a full-page PNG named <paramref name="name"/> and returns its path.</summary>
    public static async Task<string> SaveAsync(IPage page, string name)
    {
        var path = Path.Combine(Directory, name + ".png");
        await page.ScreenshotAsync(new() { Path = path, FullPage = true, Animations = ScreenshotAnimations.Disabled });
        return path;
    }
}
