using System.Text.Json;
using Jobkeeper.Model;
using Jobkeeper.Retention;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Sqlite.Tests;

public sealed class RetentionTests : IDisposable
{
    private readonly TempDatabase _database = new();

    private string ArchiveDirectory => Path.Combine(_database.Directory, "archive");

    [Fact]
    public async Task Retention_archives_each_job_with_its_events_then_deletes_only_jobs_past_their_status_retention()
    {
        var clock = new TestClock();
        await using var host = await ManagerHost.StartAsync(_database.Path, o =>
        {
            o.CleanupBatchSize = 3;
            SlowSweeps(o);
        }, clock);
        var manager = host.Manager;

        await Finish(manager, "failed-ancient", JobStatus.Failed);
        for (var i = 0; i < 7; i++)
        {
            await Finish(manager, $"done-ancient-{i}", JobStatus.Completed);
        }

        clock.Advance(TimeSpan.FromDays(30));
        await Finish(manager, "failed-11d", JobStatus.Failed);
        await Finish(manager, "cancelled-11d", JobStatus.Cancelled);
        await Finish(manager, "done-11d", JobStatus.Completed);
        await manager.CreateAsync(new NewJob { Type = "t", Id = "queued-11d" });
        await manager.CreateAsync(new NewJob { Type = "t", Id = "running-11d" });
        await manager.UpdateAsync("running-11d", new JobPatch { Status = JobStatus.Running });
        clock.Advance(TimeSpan.FromDays(10));
        await Finish(manager, "done-1d", JobStatus.Completed);
        clock.Advance(TimeSpan.FromDays(1));

        var retention = host.Services.GetRequiredService<JobRetention>();
        var result = await retention.RunAsync(new RetentionOptions { Days = 7, Failed = 30, ArchiveDirectory = ArchiveDirectory });

        string[] expectedDeleted = ["cancelled-11d", "done-11d", "failed-ancient", .. Enumerable.Range(0, 7).Select(i => $"done-ancient-{i}")];
        Assert.Equal(expectedDeleted.Length, result.DeletedCount);
        Assert.Equal(8, result.DeletedByStatus[JobStatus.Completed]);
        Assert.Equal(1, result.DeletedByStatus[JobStatus.Failed]);
        Assert.Equal(1, result.DeletedByStatus[JobStatus.Cancelled]);

        // Nothing else was deleted: the young, the unfinished, and failed jobs inside their longer retention stay.
        foreach (var id in new[] { "failed-11d", "queued-11d", "running-11d", "done-1d" })
        {
            Assert.NotNull(await manager.GetAsync(id));
        }

        foreach (var id in expectedDeleted)
        {
            Assert.Null(await host.Store.GetAsync(id, CancellationToken.None));
        }

        Assert.Equal(4, (await manager.GetStatsAsync()).JobsCount);

        // Every deleted job is in the archive, readable, with its whole history; nothing else is.
        var file = Assert.Single(result.ArchiveFiles);
        Assert.Equal("jobs-2026-06-11T0900Z.jsonl.gz", Path.GetFileName(file));
        Assert.Equal([file], Directory.GetFiles(ArchiveDirectory));
        var archived = await ReadAll(file);
        Assert.Equal(expectedDeleted.Order(StringComparer.Ordinal), archived.Select(a => a.Job.Id).Order(StringComparer.Ordinal));
        var done = archived.Single(a => a.Job.Id == "done-ancient-3");
        Assert.Equal(JobStatus.Completed, done.Job.Status);
        Assert.Equal("ann", done.Job.Labels["user"]);
        Assert.Equal(3, done.Job.Input!.Value.GetProperty("n").GetInt32());
        Assert.Equal(TestClock.Origin, done.Job.CompletedAt);
        Assert.Equal(JobEventTypes.Created, done.Events[0].Type);
        Assert.Equal(2, done.Events.Count(e => e.Type == JobEventTypes.StatusChanged));
        Assert.Equal((await EventsBefore(host, "done-1d")).Count, done.Events.Count);
        Assert.All(done.Events, e => Assert.Equal("done-ancient-3", e.JobId));

        // Lines are the API's snake_case job JSON plus an events array.
        var firstLine = await FirstLine(file);
        using var line = JsonDocument.Parse(firstLine);
        Assert.True(line.RootElement.TryGetProperty("created_at", out _));
        Assert.True(line.RootElement.TryGetProperty("max_attempts", out _));
        Assert.Equal(JsonValueKind.Array, line.RootElement.GetProperty("events").ValueKind);

        // A second pass finds nothing and writes no file.
        var again = await retention.RunAsync(new RetentionOptions { Days = 7, Failed = 30, ArchiveDirectory = ArchiveDirectory });
        Assert.Equal(0, again.DeletedCount);
        Assert.Empty(again.ArchiveFiles);
        Assert.Single(Directory.GetFiles(ArchiveDirectory));
    }

    [Fact]
    public async Task Per_status_overrides_keep_a_status_without_days_forever()
    {
        var clock = new TestClock();
        await using var host = await ManagerHost.StartAsync(_database.Path, SlowSweeps, clock);
        var manager = host.Manager;
        await Finish(manager, "done", JobStatus.Completed);
        await Finish(manager, "failed", JobStatus.Failed);
        await Finish(manager, "cancelled", JobStatus.Cancelled);
        clock.Advance(TimeSpan.FromDays(100));

        var result = await host.Services.GetRequiredService<JobRetention>().RunAsync(new RetentionOptions { Cancelled = 2 });

        Assert.Equal(1, result.DeletedCount);
        Assert.Empty(result.ArchiveFiles);
        Assert.Null(await manager.GetAsync("cancelled"));
        Assert.NotNull(await manager.GetAsync("done"));
        Assert.NotNull(await manager.GetAsync("failed"));
    }

    [Fact]
    public async Task The_background_sweep_runs_on_its_interval_as_the_clock_advances()
    {
        var clock = new TestClock();
        await using var host = await ManagerHost.StartAsync(_database.Path, o =>
        {
            SlowSweeps(o);
            o.Retention.Days = 1;
            o.Retention.Interval = TimeSpan.FromHours(1);
            o.Retention.ArchiveDirectory = ArchiveDirectory;
        }, clock);
        var manager = host.Manager;
        await Finish(manager, "old", JobStatus.Completed);
        await clock.WaitForPeriodicTimerAsync(TimeSpan.FromHours(1));

        clock.Advance(TimeSpan.FromHours(23));
        await Finish(manager, "young", JobStatus.Completed);
        clock.Advance(TimeSpan.FromHours(2));

        await Poll.UntilAsync(async () => await host.Store.GetAsync("old", CancellationToken.None), job => job is null, "the sweep to delete the old job");
        Assert.NotNull(await manager.GetAsync("young"));
        var file = Assert.Single(Directory.GetFiles(ArchiveDirectory));
        Assert.Equal(["old"], (await ReadAll(file)).Select(a => a.Job.Id));
    }

    /// <summary>The clock jumps by days here; the other sweeps (every second by default) need not tick millions of times.</summary>
    private static void SlowSweeps(JobkeeperOptions o)
    {
        o.Workers.ReapInterval = TimeSpan.FromHours(6);
        o.Cache.SweepInterval = TimeSpan.FromHours(6);
    }

    private static async Task Finish(JobManager manager, string id, JobStatus status)
    {
        var n = id.StartsWith("done-ancient-", StringComparison.Ordinal) ? int.Parse(id["done-ancient-".Length..], System.Globalization.CultureInfo.InvariantCulture) : 0;
        await manager.CreateAsync(new NewJob
        {
            Type = "t",
            Id = id,
            Labels = new Dictionary<string, string> { ["user"] = "ann" },
            Input = JsonDocument.Parse($"{{\"n\":{n}}}").RootElement.Clone(),
        });
        if (status != JobStatus.Cancelled)
        {
            await manager.UpdateAsync(id, new JobPatch { Status = JobStatus.Running });
        }

        await manager.UpdateAsync(id, new JobPatch { Status = status });
    }

    /// <summary>The history of a job finished the same way as the archived ones, for comparison.</summary>
    private static Task<IReadOnlyList<JobEvent>> EventsBefore(ManagerHost host, string id) => host.Manager.GetEventsAsync(id);

    private static async Task<List<ArchivedJob>> ReadAll(string file)
    {
        var jobs = new List<ArchivedJob>();
        await foreach (var job in JobArchive.ReadAsync(file))
        {
            jobs.Add(job);
        }

        return jobs;
    }

    private static async Task<string> FirstLine(string file)
    {
        await using var stream = new System.IO.Compression.GZipStream(File.OpenRead(file), System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(stream);
        return (await reader.ReadLineAsync())!;
    }

    public void Dispose() => _database.Dispose();
}
