using System.Diagnostics;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Model;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// Cleanup of many terminal jobs while another task keeps writing. Each round: a fresh store seeded with
/// <c>terminalJobs</c> jobs completed 10–40 days ago plus 20,000 live queued jobs; one writer task creates
/// jobs one at a time (each awaited until committed) for 2 s alone (baseline), then all through
/// <c>JobManager.CleanupAsync(7)</c>, then 0.5 s more. Reported: cleanup time and the latencies the writer
/// saw during the cleanup, above all the maximum.
/// </summary>
public static class CleanupSuite
{
    public static async Task RunAsync(Report report, int rounds, int terminalJobs, int[] batchSizes, int externalCheckpointMs = 0, bool retention = false)
    {
        if (retention)
        {
            report.Line("Through background retention (Jobkeeper.Retention.JobRetention, Days = 7) with an archive: each batch is read,");
            report.Line("written with its events to a gzip JSON Lines file and synced, then deleted by id.");
        }

        report.Line($"{terminalJobs:N0} terminal jobs (+ 20,000 live) per round; default cleanup batch size {new JobkeeperOptions().CleanupBatchSize}.");
        report.Line();
        foreach (var batchSize in batchSizes)
        {
            report.Line($"## JobkeeperOptions.CleanupBatchSize = {batchSize}" +
                        (externalCheckpointMs > 0 ? $", plus the benchmark's own PRAGMA wal_checkpoint(PASSIVE) every {externalCheckpointMs} ms (experiment)" : ""));
            report.Line();
            await RunAsync(report, rounds, terminalJobs, batchSize, externalCheckpointMs, retention).ConfigureAwait(false);
            report.Line();
        }
    }

    private static async Task RunAsync(Report report, int rounds, int terminalJobs, int batchSize, int externalCheckpointMs, bool retention)
    {
        using var metrics = new CommitMetrics();
        var maxima = new List<double>();
        var durations = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            var path = BenchPaths.DataFile("cleanup.db");
            BenchPaths.DeleteDatabase(path);
            try
            {
                await using var host = await JobkeeperHost.StartAsync(path, o => o.CleanupBatchSize = batchSize).ConfigureAwait(false);
                var now = DateTimeOffset.UtcNow;
                var seedTime = await Seeder.InsertAsync(host.Store, terminalJobs, now.AddDays(-40), now.AddDays(-10), JobStatus.Completed).ConfigureAwait(false);
                await Seeder.InsertAsync(host.Store, 20_000, now.AddDays(-1), now, JobStatus.Queued, firstIndex: terminalJobs).ConfigureAwait(false);

                var samples = new List<(long At, double Ms)>(100_000);
                var stop = 0;
                var writer = Task.Run(async () =>
                {
                    var i = 10_000_000L;
                    while (Volatile.Read(ref stop) == 0)
                    {
                        var t0 = Stopwatch.GetTimestamp();
                        await host.Manager.CreateAsync(SampleJobs.New(i++)).ConfigureAwait(false);
                        var t1 = Stopwatch.GetTimestamp();
                        samples.Add((t0, Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds));
                    }
                });

                await Task.Delay(2000).ConfigureAwait(false);

                // Watch the WAL's size during the cleanup (and, as an experiment, checkpoint it from outside).
                long walPeak = 0;
                var watching = 1;
                var watcher = Task.Run(async () =>
                {
                    using var checkpoint = externalCheckpointMs > 0 ? RawSqlite.Open(path) : null;
                    var lastCheckpoint = Stopwatch.GetTimestamp();
                    while (Volatile.Read(ref watching) == 1)
                    {
                        var wal = new FileInfo(path + "-wal");
                        walPeak = Math.Max(walPeak, wal.Exists ? wal.Length : 0);
                        if (checkpoint is not null && Stopwatch.GetElapsedTime(lastCheckpoint).TotalMilliseconds >= externalCheckpointMs)
                        {
                            checkpoint.Execute("PRAGMA wal_checkpoint(PASSIVE)");
                            lastCheckpoint = Stopwatch.GetTimestamp();
                        }

                        await Task.Delay(5).ConfigureAwait(false);
                    }
                });
                metrics.Reset();
                var pauseBefore = GC.GetTotalPauseDuration();
                var gen2Before = GC.CollectionCount(2);
                var cleanupStart = Stopwatch.GetTimestamp();
                var archive = BenchPaths.DataFile("cleanup-archive");
                if (Directory.Exists(archive))
                {
                    Directory.Delete(archive, recursive: true);
                }

                var deletedCount = retention
                    ? (await host.Services.GetRequiredService<Jobkeeper.Retention.JobRetention>()
                        .RunAsync(new Jobkeeper.Retention.RetentionOptions { Days = 7, ArchiveDirectory = archive }).ConfigureAwait(false)).DeletedCount
                    : (await host.Manager.CleanupAsync(7).ConfigureAwait(false)).DeletedCount;
                var cleanupEnd = Stopwatch.GetTimestamp();
                Volatile.Write(ref watching, 0);
                await watcher.ConfigureAwait(false);
                var commits = metrics.Snapshot();
                var pauses = GC.GetTotalPauseDuration() - pauseBefore;
                var gen2 = GC.CollectionCount(2) - gen2Before;
                await Task.Delay(500).ConfigureAwait(false);
                Volatile.Write(ref stop, 1);
                await writer.ConfigureAwait(false);

                if (deletedCount != terminalJobs)
                {
                    throw new InvalidOperationException($"Cleanup deleted {deletedCount:N0}, expected {terminalJobs:N0}.");
                }

                // A write "saw" the cleanup when it was in flight at any moment while the cleanup ran.
                var during = samples.Where(s => s.At < cleanupEnd && s.At + (long)(s.Ms * Stopwatch.Frequency / 1000) > cleanupStart)
                    .Select(s => s.Ms).Order().ToArray();
                var before = samples.Where(s => s.At < cleanupStart).Select(s => s.Ms).Order().ToArray();
                var seconds = Stopwatch.GetElapsedTime(cleanupStart, cleanupEnd).TotalSeconds;
                maxima.Add(during.Max());
                durations.Add(seconds);
                report.Line($"### Batch size {batchSize}, round {round}");
                report.Line($"- seeded {terminalJobs:N0} terminal jobs in {Stats.F(seedTime.TotalSeconds)} s");
                report.Line($"- cleanup deleted {deletedCount:N0} jobs in **{Stats.F(seconds, 2)} s** ({Stats.F(deletedCount / seconds, 0)} jobs/s); " +
                            $"writer transactions {commits.Commits:N0}, longest transaction {Stats.F(commits.MaxCommitMs)} ms, WAL peak {Stats.F(walPeak / 1048576.0)} MiB, GC pauses {Stats.F(pauses.TotalMilliseconds, 0)} ms ({gen2} gen2)");
                report.Line($"- concurrent writer during cleanup: {during.Length:N0} creates, p50 {Stats.F(Stats.Percentile(during, 0.5), 2)} ms, " +
                            $"p99 {Stats.F(Stats.Percentile(during, 0.99), 2)} ms, **max {Stats.F(during.Max(), 2)} ms**");
                report.Line($"- same writer before cleanup (baseline, 2 s): {before.Length:N0} creates, p50 {Stats.F(Stats.Percentile(before, 0.5), 2)} ms, " +
                            $"p99 {Stats.F(Stats.Percentile(before, 0.99), 2)} ms, max {Stats.F(before.Max(), 2)} ms");
                report.Line();
            }
            finally
            {
                BenchPaths.DeleteDatabase(path);
            }
        }

        report.Line($"### Batch size {batchSize} over {rounds} rounds");
        report.Line($"- cleanup time: median {Stats.F(Stats.Median(durations), 2)} s");
        report.Line($"- max latency of a concurrent write: median of rounds {Stats.F(Stats.Median(maxima), 2)} ms, worst {Stats.F(maxima.Max(), 2)} ms (target ≤ 50 ms)");
    }
}
