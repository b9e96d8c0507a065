using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>How the executable configures itself when started from an arbitrary directory (as a service is).</summary>
public sealed class ServerConfigurationTests
{
    /// <summary>
    /// The shipped appsettings.json sets "Microsoft.AspNetCore": "Warning", so a request must not be logged
    /// at Information ("Request starting …"). The server here runs with a current directory that is not
    /// its install directory, like a service or a container with another WORKDIR.
    /// </summary>
    [Fact]
    public async Task Shipped_appsettings_apply_when_started_from_another_directory()
    {
        await using var server = await ServerProcess.StartAsync();
        Assert.NotEqual(Path.GetDirectoryName(typeof(ServerProcess).Assembly.Location), server.WorkingDirectory);
        using (var response = await server.Client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Stop gracefully so every line the server logged has been read before looking at them.
        Assert.Equal(0, await server.TerminateAsync());
        var output = server.Output;
        Assert.Contains("Application is shutting down", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Microsoft.AspNetCore.Hosting.Diagnostics", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Request starting", output, StringComparison.Ordinal);
    }

    /// <summary>A database file that is no SQLite database: the server refuses to start, says why, exits non-zero.</summary>
    [Fact]
    public async Task A_server_that_cannot_open_its_database_exits_non_zero_with_the_reason()
    {
        using var data = new TempDirectory("jobkeeper-e2e-baddb");
        var db = data.File("jobkeeper.db");
        await File.WriteAllTextAsync(db, "this is not a database, just text long enough to be read as a header........");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(db));
        Assert.Contains("exited with code 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("file is not a database", error.Message, StringComparison.Ordinal);
        Assert.Contains("jobkeeper: cannot start", error.Message, StringComparison.Ordinal);
        Assert.Equal("this is not a database, just text long enough to be read as a header........", await File.ReadAllTextAsync(db));
    }

    /// <summary>
    /// Settings come from the working directory's appsettings.json, then JOBKEEPER__* variables, then the
    /// command line; the start-up log names the store, the cache settings and the sweep schedule.
    /// </summary>
    [Fact]
    public async Task Settings_layer_appsettings_then_environment_and_the_start_is_logged()
    {
        using var data = new TempDirectory("jobkeeper-e2e-config");
        var fromEnvironment = data.File("from-env.db");
        await using var server = await ServerProcess.StartAsync(
            dbPath: fromEnvironment,
            dbOnCommandLine: false,
            environment: new Dictionary<string, string>
            {
                ["JOBKEEPER__DB"] = fromEnvironment,
                ["JOBKEEPER__CACHE__SWEEPINTERVAL"] = "00:02:00",
            },
            prepareWorkingDirectory: work => File.WriteAllText(Path.Combine(work, "appsettings.json"),
                """{ "Jobkeeper": { "Db": "from-appsettings.db", "Cache": { "MaxEntries": 500, "SweepInterval": "00:09:00" } } }"""));

        using var health = await server.Client.GetAsync("/health");
        var json = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(fromEnvironment, json.GetProperty("store").GetProperty("location").GetString());
        Assert.False(File.Exists(Path.Combine(server.WorkingDirectory, "from-appsettings.db")));

        Assert.Equal(0, await server.TerminateAsync());
        var output = server.Output;
        Assert.Contains($"Store sqlite at {fromEnvironment}: schema version 5, 0 jobs", output, StringComparison.Ordinal);
        Assert.Contains("Cache: up to 500 jobs, entries expire 60 min after last use", output, StringComparison.Ordinal);
        Assert.Contains("Cache sweep every 2 min", output, StringComparison.Ordinal);
        Assert.Contains("closed after draining pending writes", output, StringComparison.Ordinal);
    }

    /// <summary>With nothing configured the store is ./data/jobkeeper.db under the working directory, owner-only.</summary>
    [Fact]
    public async Task The_default_store_is_data_jobkeeper_db_readable_by_its_owner_only()
    {
        await using var server = await ServerProcess.StartAsync(dbOnCommandLine: false);
        var expected = Path.Combine(server.WorkingDirectory, "data", "jobkeeper.db");
        using var health = await server.Client.GetAsync("/health");
        var json = System.Text.Json.JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(expected, json.GetProperty("store").GetProperty("location").GetString());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(expected));
        }
    }
}
