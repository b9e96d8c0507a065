using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>The operator commands, run as the real <c>jobkeeper</c> executable against real servers and database files.</summary>
public sealed partial class OperatorCommandTests
{
    [Fact]
    public async Task Backup_taken_under_load_restores_into_a_fresh_server_with_every_job_acknowledged_before_it_began()
    {
        using var backups = new TempDirectory("jobkeeper-backup");
        var backupFile = backups.File("copy.db");
        var freshDb = backups.File(Path.Combine("fresh", "jobkeeper.db"));

        await using (var source = await ServerProcess.StartAsync())
        {
            // Concurrent creates, each recorded with the moment it was acknowledged.
            var acknowledged = new ConcurrentQueue<(string Id, long At)>();
            var failures = new ConcurrentQueue<string>();
            using var stop = new CancellationTokenSource();
            var load = Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
            {
                var n = 0;
                while (!stop.IsCancellationRequested)
                {
                    using var response = await source.Client.PostJsonAsync(Api.Jobs,
                        $$$"""{"type":"load","labels":{"client":"c{{{c}}}"},"input":{"n":{{{n++}}},"pad":"{{{new string('x', 200)}}}"}}""");
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        acknowledged.Enqueue((System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!, Stopwatch.GetTimestamp()));
                    }
                    else
                    {
                        failures.Enqueue($"{(int)response.StatusCode}: {body}");
                    }
                }
            })).ToArray();

            try
            {
                await Api.PollAsync(() => Task.FromResult(acknowledged.Count >= 2000), TimeSpan.FromSeconds(60), () => $"{acknowledged.Count} creates");
                var backupBegan = Stopwatch.GetTimestamp();
                var backup = await CliRunner.RunAsync("backup", "--to", backupFile, "--db", source.DbPath);
                var backupEnded = Stopwatch.GetTimestamp();
                Assert.True(backup.ExitCode == 0, backup.ToString());
                var ackedDuring = acknowledged.Count(a => a.At > backupBegan && a.At < backupEnded);

                // A server using the database is not replaced under its feet.
                var refused = await CliRunner.RunAsync("restore", "--from", backupFile, "--db", source.DbPath);
                Assert.True(refused.ExitCode != 0, refused.ToString());
                Assert.Contains("in use", refused.Stderr, StringComparison.Ordinal);

                stop.Cancel();
                await Task.WhenAll(load);
                Assert.Empty(failures);
                Assert.True(ackedDuring > 0, "the load went on while the backup ran");

                var before = acknowledged.Where(a => a.At < backupBegan).Select(a => a.Id).ToList();
                Assert.True(before.Count >= 2000);

                var restore = await CliRunner.RunAsync("restore", "--from", backupFile, "--db", freshDb);
                Assert.True(restore.ExitCode == 0, restore.ToString());
                Assert.False(File.Exists(freshDb + "-wal"));

                await using var fresh = await ServerProcess.StartAsync(freshDb);
                var check = await CliRunner.RunAsync("check", "--db", freshDb);
                Assert.True(check.ExitCode == 0, check.ToString());
                Assert.Contains("check passed", check.Stdout, StringComparison.Ordinal);

                var missing = new ConcurrentBag<string>();
                await Parallel.ForEachAsync(before, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) =>
                {
                    using var response = await fresh.Client.GetAsync(Api.JobPath(id), ct);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        missing.Add($"{id}: {(int)response.StatusCode}");
                    }
                });
                Assert.Empty(missing);
                var restoredCount = await fresh.Client.JobsCountAsync();
                Assert.InRange(restoredCount, before.Count, acknowledged.Count);
            }
            finally
            {
                stop.Cancel();
                await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    [Fact]
    public async Task Check_fails_with_a_non_zero_exit_on_a_corrupted_database()
    {
        using var dir = new TempDirectory("jobkeeper-check");
        string good;
        await using (var server = await ServerProcess.StartAsync())
        {
            for (var i = 0; i < 300; i++)
            {
                await server.Client.CreateJobAsync($$$"""{"type":"t","input":{"pad":"{{{new string('y', 500)}}}"}}""");
            }

            good = dir.File("good.db");
            var backup = await CliRunner.RunAsync("backup", "--to", good, "--db", server.DbPath);
            Assert.True(backup.ExitCode == 0, backup.ToString());
        }

        var ok = await CliRunner.RunAsync("check", "--db", good);
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Matches(@"jobs queued\W+300", ok.Stdout);

        // Garbage over pages in the middle of the file: the structure no longer adds up.
        var corrupted = dir.File("corrupted.db");
        File.Copy(good, corrupted);
        await using (var stream = new FileStream(corrupted, FileMode.Open, FileAccess.Write))
        {
            stream.Position = stream.Length / 2;
            var garbage = new byte[16384];
            new Random(7).NextBytes(garbage);
            await stream.WriteAsync(garbage);
        }

        var bad = await CliRunner.RunAsync("check", "--db", corrupted);
        Assert.True(bad.ExitCode != 0, bad.ToString());
        Assert.Contains("check failed", bad.Stdout, StringComparison.Ordinal);

        var notADatabase = dir.File("noise.db");
        await File.WriteAllBytesAsync(notADatabase, Enumerable.Range(0, 8192).Select(i => (byte)(i * 31)).ToArray());
        var noise = await CliRunner.RunAsync("check", "--db", notADatabase);
        Assert.True(noise.ExitCode != 0, noise.ToString());

        var refused = await CliRunner.RunAsync("restore", "--from", corrupted, "--db", dir.File("target.db"));
        Assert.True(refused.ExitCode != 0, refused.ToString());
        Assert.False(File.Exists(dir.File("target.db")));
    }

    [Fact]
    public async Task Stats_and_cleanup_work_on_a_server_and_on_the_file_and_vacuum_shrinks_it_afterwards()
    {
        var server = await ServerProcess.StartAsync();
        try
        {
            var ids = new List<string>();
            for (var i = 0; i < 400; i++)
            {
                var job = await server.Client.CreateJobAsync($$$"""{"type":"t","input":{"pad":"{{{new string('z', 4000)}}}"}}""");
                ids.Add(job.Str("id"));
            }

            foreach (var id in ids.Take(300))
            {
                await server.Client.PatchJobAsync(id, """{"status":"running"}""");
                await server.Client.PatchJobAsync(id, id.GetHashCode() % 2 == 0 ? """{"status":"completed"}""" : """{"status":"failed"}""");
            }

            var stats = await CliRunner.RunAsync("stats", "--server", server.BaseAddress.ToString());
            Assert.True(stats.ExitCode == 0, stats.ToString());
            Assert.Matches(@"jobs queued\W+100\b", stats.Stdout);
            Assert.Matches(@"jobs total\W+400\b", stats.Stdout);

            // Finished 200 of them on the server; days 0 takes everything finished before now.
            var cleanup = await CliRunner.RunAsync("cleanup", "--days", "0", "--server", server.BaseAddress.ToString());
            Assert.True(cleanup.ExitCode == 0, cleanup.ToString());
            Assert.Equal(300, Deleted(cleanup));
            Assert.Equal(100, await server.Client.JobsCountAsync());
            Assert.Equal(0, Deleted(await CliRunner.RunAsync("cleanup", "--days", "0", "--server", server.BaseAddress.ToString())));

            foreach (var id in ids.Skip(300).Take(60))
            {
                await server.Client.PatchJobAsync(id, """{"status":"cancelled"}""");
            }

            Assert.Equal(0, await server.TerminateAsync());

            var fileStats = await CliRunner.RunAsync("stats", "--db", server.DbPath);
            Assert.True(fileStats.ExitCode == 0, fileStats.ToString());
            Assert.Matches(@"jobs cancelled\W+60\b", fileStats.Stdout);
            Assert.Matches(@"jobs queued\W+40\b", fileStats.Stdout);
            Assert.Matches(@"schema version\W+\d+", fileStats.Stdout);

            var fileCleanup = await CliRunner.RunAsync("cleanup", "--days", "0", "--db", server.DbPath);
            Assert.True(fileCleanup.ExitCode == 0, fileCleanup.ToString());
            Assert.Equal(60, Deleted(fileCleanup));
            Assert.Matches(@"jobs total\W+40\b", (await CliRunner.RunAsync("stats", "--db", server.DbPath)).Stdout);

            var vacuum = await CliRunner.RunAsync("vacuum", "--db", server.DbPath);
            Assert.True(vacuum.ExitCode == 0, vacuum.ToString());
            var sizes = SizesPattern().Match(vacuum.Stdout);
            Assert.True(sizes.Success, vacuum.ToString());
            var sizeBefore = long.Parse(sizes.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var sizeAfter = long.Parse(sizes.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(sizeAfter < sizeBefore / 2, vacuum.ToString());
            Assert.Equal(sizeAfter, new FileInfo(server.DbPath).Length + (File.Exists(server.DbPath + "-wal") ? new FileInfo(server.DbPath + "-wal").Length : 0));

            var check = await CliRunner.RunAsync("check", "--db", server.DbPath);
            Assert.True(check.ExitCode == 0, check.ToString());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>Copies of the database are as private as the live file: a backup and a restored file get mode 0600.</summary>
    [Fact]
    public async Task Backups_and_restored_files_are_readable_by_their_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var dir = new TempDirectory("jobkeeper-modes");
        var backup = dir.File("backup.db");
        await using (var server = await ServerProcess.StartAsync())
        {
            await server.Client.CreateJobAsync("""{"type":"t"}""");
            var result = await CliRunner.RunAsync("backup", "--to", backup, "--db", server.DbPath);
            Assert.True(result.ExitCode == 0, result.ToString());
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(backup));

        // A backup someone made readable (copied with another umask) is still restored owner-only.
        File.SetUnixFileMode(backup, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var restored = dir.File(Path.Combine("live", "jobkeeper.db"));
        var restore = await CliRunner.RunAsync("restore", "--from", backup, "--db", restored);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(restored));
    }

    private static int Deleted(CliResult result)
    {
        var match = Regex.Match(result.Stdout, @"Deleted (\d+)");
        Assert.True(match.Success, result.ToString());
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"size_before_bytes=(\d+) size_after_bytes=(\d+)")]
    private static partial Regex SizesPattern();
}
