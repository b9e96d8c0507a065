using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// One SQLite file, one writing process. A second server on the file would answer from its own hot cache (a job the
/// first one cancelled still "queued" there), so it is refused at start; operator commands that only read work beside
/// the server, and those that write are refused, each saying which process holds the file.
/// </summary>
public sealed class SingleWriterTests
{
    [Fact]
    public async Task A_second_server_on_the_same_file_is_refused_and_told_which_process_holds_it()
    {
        await using var first = await ServerProcess.StartAsync();
        var job = await first.Client.CreateJobAsync("""{"type":"guard.t"}""");

        var refused = await ServerProcess.StartRefusedAsync(first.DbPath);
        Assert.Contains("exited with code 1", refused, StringComparison.Ordinal);
        Assert.Contains($"[stderr] jobkeeper: cannot start: The SQLite database {first.DbPath} is in use by another process: pid {first.ProcessId} on host ",
            refused, StringComparison.Ordinal);
        Assert.Contains($"(jobkeeper serve on http://127.0.0.1:0)", refused, StringComparison.Ordinal);

        // The first server is untouched and still the only one answering for the file.
        using var cancel = await first.Client.PostAsync(Api.JobPath(job.Str("id")) + "/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
    }

    [Fact]
    public async Task Reading_commands_work_beside_the_server_and_writing_ones_are_refused_naming_it()
    {
        using var dir = new TempDirectory("jobkeeper-guard");
        await using var server = await ServerProcess.StartAsync();
        for (var i = 0; i < 20; i++)
        {
            await server.Client.CreateJobAsync("""{"type":"guard.t"}""");
        }

        var stats = await CliRunner.RunAsync("stats", "--db", server.DbPath);
        Assert.True(stats.ExitCode == 0, stats.ToString());
        Assert.Matches(@"jobs queued\W+20\b", stats.Stdout);
        var check = await CliRunner.RunAsync("check", "--db", server.DbPath);
        Assert.True(check.ExitCode == 0, check.ToString());
        var backup = await CliRunner.RunAsync("backup", "--db", server.DbPath, "--to", dir.File("copy.db"));
        Assert.True(backup.ExitCode == 0, backup.ToString());

        var holder = $"is in use by another process: pid {server.ProcessId} on host ";
        foreach (var (args, exit, advice) in new (string[] Args, int Exit, string Advice)[]
        {
            (["cleanup", "--days", "0", "--db", server.DbPath], 3, "--server URL"),
            (["vacuum", "--db", server.DbPath], 3, "Stop it first"),
            (["restore", "--from", dir.File("copy.db"), "--db", server.DbPath], 3, "Stop it first"),
            (["import", Path.Combine(AppContext.BaseDirectory, "Fixtures", "audio-analysis-jobs.json"), "--db", server.DbPath], 1, "--server URL"),
        })
        {
            var result = await CliRunner.RunAsync(args);
            Assert.True(result.ExitCode == exit, result.ToString());
            Assert.Contains(holder, result.Stderr, StringComparison.Ordinal);
            Assert.Contains(advice, result.Stderr, StringComparison.Ordinal);
            Assert.Single(result.Stderr.Trim().Split('\n'));
        }

        Assert.Equal(20, await server.Client.JobsCountAsync());
    }

    [Fact]
    public async Task The_file_is_free_after_a_clean_stop_and_after_kill_9()
    {
        using var data = new TempDirectory("jobkeeper-guard-restart");
        var db = data.File("jobkeeper.db");
        await using (var killed = await ServerProcess.StartAsync(db))
        {
            await killed.Client.CreateJobAsync("""{"type":"guard.t"}""");
            await killed.KillAsync();
        }

        // The lock file is still there with the dead server's record; the lock itself died with the process.
        Assert.Contains("jobkeeper serve", await File.ReadAllTextAsync(db + ".lock"), StringComparison.Ordinal);
        await using (var second = await ServerProcess.StartAsync(db))
        {
            Assert.Equal(1, await second.Client.JobsCountAsync());
            Assert.Equal(0, await second.TerminateAsync());
        }

        Assert.Equal(0, new FileInfo(db + ".lock").Length);
        await using var third = await ServerProcess.StartAsync(db);
        Assert.Equal(1, await third.Client.JobsCountAsync());
    }
}
