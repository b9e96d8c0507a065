using System.Net;
using System.Net.Http.Headers;
using Jobkeeper.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// The standard probes (/health/live, /health/ready) and the counts of /health, which are not recounted on every
/// probe: a change this process did not make (a row deleted behind its back) shows only when the cached count is
/// refreshed, at once with Cache-Control: no-cache.
/// </summary>
public sealed class HealthProbeTests
{
    [Fact]
    public async Task Live_and_ready_answer_healthy_while_the_store_is_readable()
    {
        await using var server = await ServerProcess.StartAsync();
        foreach (var path in new[] { "/health/live", "/health/ready" })
        {
            using var response = await server.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Counts_are_cached_between_probes_and_no_cache_counts_again()
    {
        await using var server = await ServerProcess.StartAsync();
        var gone = (await server.Client.CreateJobAsync("""{"type":"health.cached"}""")).Str("id");
        await server.Client.CreateJobAsync("""{"type":"health.cached"}""");

        // Its own writes are always counted: the second create made the cached count stale.
        Assert.Equal(2, (await server.Client.GetJsonAsync("/health")).GetProperty("jobs_count").GetInt64());

        // A row deleted behind the server's back: the cached count does not know, a no-cache request counts again.
        var connection = new SqliteConnectionStringBuilder { DataSource = server.DbPath, Pooling = false }.ToString();
        using (var sqlite = new SqliteConnection(connection))
        {
            sqlite.Open();
            using var command = sqlite.CreateCommand();
            command.CommandText = "DELETE FROM jobs WHERE id = $id";
            command.Parameters.AddWithValue("$id", gone);
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        Assert.Equal(2, (await server.Client.GetJsonAsync("/health")).GetProperty("jobs_count").GetInt64());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        using var response = await server.Client.SendAsync(request);
        var fresh = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(1, fresh.GetProperty("jobs_count").GetInt64());
        Assert.Equal(1, (await server.Client.GetJsonAsync("/health")).GetProperty("jobs_count").GetInt64());
    }
}
