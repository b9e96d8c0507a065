using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;
using Jobkeeper.Sqlite.Tests;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// One damaged page in the SQLite file (garbage over a leaf of the jobs table, as a bad disk block leaves it). A
/// damaged store must not look healthy: refused at start, and once met while serving, reported by <c>/health</c> and
/// by every write as what it is — retrying does not repair a file.
/// </summary>
public sealed class StoreCorruptionTests(ITestOutputHelper output)
{
    private const string StoreCorrupt = "https://jobkeeper.dev/problems/store-corrupt";

    [Fact]
    public async Task A_damaged_database_is_refused_at_start_naming_the_file_and_the_way_out()
    {
        using var data = new TempDirectory("jobkeeper-e2e-damaged");
        var db = data.File("jobkeeper.db");
        await using (var server = await ServerProcess.StartAsync(db))
        {
            await SeedAsync(server);
            Assert.Equal(0, await server.TerminateAsync());
        }

        var page = SqlitePages.DamageLeaf(db, "jobs");
        var refused = await ServerProcess.StartRefusedAsync(db);
        output.WriteLine(refused);
        Assert.Contains("exited with code 1", refused, StringComparison.Ordinal);
        Assert.Contains($"[stderr] jobkeeper: cannot start: The SQLite database {db} is damaged (quick_check: ", refused, StringComparison.Ordinal);
        Assert.Contains($"page {page}", refused, StringComparison.Ordinal);
        Assert.Contains($"jobkeeper check --db {db}", refused, StringComparison.Ordinal);
        Assert.Contains("jobkeeper restore --from BACKUP", refused, StringComparison.Ordinal);
        // That one line is all the server printed (the output shows its first and its most recent lines: the same one).
        Assert.Single(refused.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("---", StringComparison.Ordinal) && !l.StartsWith("The server exited", StringComparison.Ordinal)).Distinct());

        var check = await CliRunner.RunAsync("check", "--db", db);
        Assert.True(check.ExitCode == 1, check.ToString());
    }

    [Fact]
    public async Task Damage_met_while_serving_turns_health_corrupt_and_writes_into_store_corrupt_problems()
    {
        await using var server = await ServerProcess.StartAsync();
        await SeedAsync(server);
        SqlitePages.DamageLeaf(server.DbPath, "jobs");

        // A list walks every row, so it meets the damaged page.
        using (var list = await server.Client.GetAsync(Api.Jobs + "?limit=500"))
        {
            var problem = await Api.ExpectProblemAsync(list, HttpStatusCode.InternalServerError);
            Assert.Equal(StoreCorrupt, problem.Str("type"));
        }

        using (var response = await server.Client.GetAsync("/health"))
        {
            var body = await response.Content.ReadAsStringAsync();
            output.WriteLine($"/health -> {(int)response.StatusCode}: {body}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var health = JsonDocument.Parse(body).RootElement;
            Assert.Equal("corrupt", health.Str("status"));
            Assert.Contains($"The SQLite database {server.DbPath} is damaged", health.Str("error"), StringComparison.Ordinal);
        }

        using (var write = await server.Client.PostJsonAsync(Api.Jobs, """{"type":"after.damage"}"""))
        {
            var problem = await Api.ExpectProblemAsync(write, HttpStatusCode.InternalServerError);
            output.WriteLine(problem.ToString());
            Assert.Equal(StoreCorrupt, problem.Str("type"));
            Assert.Contains(server.DbPath, problem.Str("detail"), StringComparison.Ordinal);
            Assert.Contains("Retrying will not help", problem.Str("detail"), StringComparison.Ordinal);
            Assert.DoesNotContain("Retry later", problem.Str("detail"), StringComparison.Ordinal);
        }

        Assert.False(server.HasExited, "the server died instead of reporting the damage");
    }

    private static async Task SeedAsync(ServerProcess server)
    {
        for (var i = 0; i < 300; i++)
        {
            await server.Client.CreateJobAsync($$$"""{"type":"damage.seed","input":{"pad":"{{{new string('y', 300)}}}"}}""");
        }
    }
}
