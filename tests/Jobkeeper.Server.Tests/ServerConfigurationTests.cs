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
}
