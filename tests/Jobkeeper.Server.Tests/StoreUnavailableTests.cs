using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// The store becomes unreadable under a running server: the database file is overwritten on disk.
/// (The tests run as root, so chmod cannot block reads.) First every page is checkpointed out of the WAL
/// into the main file — the server's readers map that file, so the garbage is what they then read.
/// SQLite then says the file is no database at all: damage, which health and every request report as such
/// (one damaged page is in <see cref="StoreCorruptionTests"/>).
/// </summary>
public sealed class StoreUnavailableTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Health_is_503_corrupt_when_the_database_file_is_overwritten_under_the_server()
    {
        await using var server = await ServerProcess.StartAsync();
        await SeedAndCorruptAsync(server);

        JsonElement health = default;
        HttpStatusCode status = default;
        await Api.PollAsync(async () =>
        {
            using var response = await server.Client.GetAsync("/health");
            status = response.StatusCode;
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            health = document.RootElement.Clone();
            return status == HttpStatusCode.ServiceUnavailable;
        }, TimeSpan.FromSeconds(15), () => $"/health still {(int)status}: {health}");

        output.WriteLine($"/health -> 503: {health}");
        Assert.Equal("corrupt", health.Str("status"));
        Assert.Equal("sqlite", health.GetProperty("store").Str("provider"));
        Assert.Equal(server.DbPath, health.GetProperty("store").Str("location"));
        Assert.Equal(JsonValueKind.Null, health.GetProperty("jobs_count").ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(health.Str("error")));
        Assert.True(health.TryGetProperty("cache", out _));
        Assert.False(server.HasExited, "the server died instead of reporting the store as unavailable");
    }

    /// <summary>
    /// A store failure is not the client's fault, and a damaged file does not heal: reads and writes alike answer a
    /// store-corrupt problem (not "retry later", not a bare 500).
    /// </summary>
    [Fact]
    public async Task Reads_and_writes_of_an_overwritten_store_are_store_corrupt_problems()
    {
        await using var server = await ServerProcess.StartAsync();
        await SeedAndCorruptAsync(server);
        await Api.PollAsync(async () =>
        {
            using var response = await server.Client.GetAsync("/health");
            return response.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, TimeSpan.FromSeconds(15), () => "/health never reported the store as unavailable");

        using (var write = await server.Client.PostJsonAsync(Api.Jobs, """{"type":"after.corruption"}"""))
        {
            var problem = await Api.ExpectProblemAsync(write, HttpStatusCode.InternalServerError);
            Assert.Equal("https://jobkeeper.dev/problems/store-corrupt", problem.Str("type"));
        }

        using var list = await server.Client.GetAsync(Api.Jobs);
        var read = await Api.ExpectProblemAsync(list, HttpStatusCode.InternalServerError);
        Assert.Equal("https://jobkeeper.dev/problems/store-corrupt", read.Str("type"));
    }

    /// <summary>The readiness probe fails on a damaged store, while the liveness probe still says the process runs.</summary>
    [Fact]
    public async Task Ready_is_503_and_live_stays_200_when_the_store_is_damaged()
    {
        await using var server = await ServerProcess.StartAsync();
        await SeedAndCorruptAsync(server);

        string body = "";
        await Api.PollAsync(async () =>
        {
            using var response = await server.Client.GetAsync("/health/ready");
            body = await response.Content.ReadAsStringAsync();
            return response.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, TimeSpan.FromSeconds(15), () => $"/health/ready still says {body}");
        Assert.Equal("Unhealthy", body);

        using var live = await server.Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    private static async Task SeedAndCorruptAsync(ServerProcess server)
    {
        for (var i = 0; i < 5; i++)
        {
            await server.Client.CreateJobAsync($$$"""{"type":"unavailable.seed","input":{"i":{{{i}}}}}""");
        }

        using (var ok = await server.Client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // Move every committed page into the main file so no read is served from the WAL.
        var connection = new SqliteConnectionStringBuilder { DataSource = server.DbPath, Pooling = false }.ToString();
        await Api.PollAsync(() =>
        {
            using var sqlite = new SqliteConnection(connection);
            sqlite.Open();
            using var command = sqlite.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            using var reader = command.ExecuteReader();
            return Task.FromResult(reader.Read() && reader.GetInt64(0) == 0);
        }, TimeSpan.FromSeconds(10), () => "the WAL could not be checkpointed");
        Assert.Equal(0, new FileInfo(server.DbPath + "-wal").Length);

        // Overwrite the database in place (same inode, same length) with bytes that are no SQLite file.
        var length = new FileInfo(server.DbPath).Length;
        Assert.True(length > 4096, $"database file unexpectedly small: {length}");
        await using (var file = new FileStream(server.DbPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            var garbage = new byte[length];
            Array.Fill(garbage, (byte)0xAB);
            await file.WriteAsync(garbage);
            await file.FlushAsync();
        }
    }
}
