using System.Net.Http.Json;
using System.Text.Json;
using Jobkeeper.Packaging.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Packaging.Tests;

/// <summary><c>dotnet tool install Jobkeeper.Server</c> from the packed feed gives a <c>jobkeeper</c> that serves.</summary>
[Collection(PackageFeedCollection.Name)]
public sealed class ToolInstallTests(PackageFeed feed, ITestOutputHelper output)
{
    [Fact]
    public async Task The_tool_installs_from_the_feed_and_jobkeeper_serve_runs_jobs_on_sqlite_under_data()
    {
        var directory = Path.Combine(feed.Root, $"tool-{Guid.NewGuid():N}");
        var tools = Path.Combine(directory, "tools");
        var work = Path.Combine(directory, "work");
        Directory.CreateDirectory(work);
        var config = feed.WriteNuGetConfig(directory);

        // --tool-path rather than --global: the same install, without touching the machine's ~/.dotnet/tools.
        var install = await Command.RunCheckedAsync("dotnet",
            ["tool", "install", PackageFeed.Tool, "--version", feed.Version, "--tool-path", tools, "--configfile", config], directory, TimeSpan.FromMinutes(3));
        output.WriteLine(install.ToString());
        Assert.Contains("jobkeeper", install.Output, StringComparison.Ordinal);

        var version = await Command.RunCheckedAsync(Path.Combine(tools, "jobkeeper"), ["--version"], work, TimeSpan.FromMinutes(1));
        Assert.StartsWith(feed.Version, version.Output.Trim(), StringComparison.Ordinal);

        await using var server = await ListeningProcess.StartAsync(Path.Combine(tools, "jobkeeper"), ["serve", "--urls", "http://127.0.0.1:0"], work,
            TimeSpan.FromMinutes(1));
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(30) };
        var health = JsonDocument.Parse(await http.GetStringAsync("/health")).RootElement;
        Assert.Equal("sqlite", health.GetProperty("store").GetProperty("provider").GetString());
        Assert.Equal(Path.Combine(work, "data", "jobkeeper.db"), health.GetProperty("store").GetProperty("location").GetString());

        var created = await http.PostAsJsonAsync("/api/v1/jobs", new { type = "tool.check", id = "installed" });
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        var job = JsonDocument.Parse(await http.GetStringAsync("/api/v1/jobs/installed")).RootElement;
        Assert.Equal("queued", job.GetProperty("status").GetString());
        output.WriteLine($"jobkeeper {version.Output.Trim()} served {server.Address}; store at {health.GetProperty("store").GetProperty("location")}");
    }
}
