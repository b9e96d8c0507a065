using System.Diagnostics;
using Jobkeeper.Benchmarks.Harness;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// Concurrent creates with group commit, against raw batched INSERTs of the same rows measured in the
/// same round. Every measurement uses a fresh database (the same schema), is warmed with 1,000 jobs first,
/// and the rounds interleave the variants so machine noise hits them alike. One warm-up round is not
/// counted; the medians of the counted rounds are reported.
/// </summary>
public static class ThroughputSuite
{
    private sealed record Measurement(double PerSecond, string Detail);

    public static async Task RunAsync(Report report, int rounds, int jobs, string? only = null)
    {
        using var metrics = new CommitMetrics();
        var all = new (string Name, Func<Task<Measurement>> Run)[]
        {
            ("store: JobManager.CreateAsync, 64 producers", () => StoreAsync(metrics, producers: 64, jobs, viaManager: true)),
            ("store: JobManager.CreateAsync, 64 producers, jobs without labels", () => StoreAsync(metrics, producers: 64, jobs, viaManager: true, labels: false)),
            ("store: IJobStore.InsertAsync, 64 producers (no JobManager)", () => StoreAsync(metrics, producers: 64, jobs, viaManager: false)),
            ("store: JobManager.CreateAsync, 8 producers", () => StoreAsync(metrics, producers: 8, jobs / 2, viaManager: true)),
            ("store: JobManager.CreateAsync, 1 producer", () => StoreAsync(metrics, producers: 1, Math.Max(1000, jobs / 20), viaManager: true)),
            ("raw: batches of 64 in one transaction (the largest group 64 producers can form)", () => RawAsync(jobs, batch: 64)),
            ("raw: batches of 100 in one transaction", () => RawAsync(jobs, batch: 100)),
            ("raw: batches of 1,000 in one transaction", () => RawAsync(jobs, batch: 1000)),
            ("raw: one job per transaction (autocommit-like)", () => RawAsync(Math.Max(1000, jobs / 20), batch: 1)),
        };

        // --only <text>: just the variants whose name contains it (for profiling one of them).
        var variants = only is null ? all : all.Where(v => v.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).ToArray();
        var results = variants.ToDictionary(v => v.Name, _ => new List<double>());
        report.Line($"Each job = job row + 2 label rows + creation event (the rows the store writes). {jobs:N0} jobs per 64-producer and raw-batch measurement; fresh database each.");
        report.Line();
        for (var round = 0; round <= rounds; round++)
        {
            report.Line(round == 0 ? "### Warm-up round (not counted)" : $"### Round {round}");
            foreach (var (name, run) in variants)
            {
                var m = await run().ConfigureAwait(false);
                if (round > 0)
                {
                    results[name].Add(m.PerSecond);
                }

                report.Line($"- {name}: **{Stats.F(m.PerSecond, 0)} jobs/s** {m.Detail}");
            }

            report.Line();
        }

        var rawBest = only is null ? Math.Max(Stats.Median(results[all[5].Name]), Stats.Median(results[all[6].Name])) : double.NaN;
        report.Line($"### Medians of {rounds} rounds");
        report.Line();
        report.Line("| variant | jobs/s (median) | min | max | vs best raw batch (100 or 1,000) |");
        report.Line("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (name, _) in variants)
        {
            var values = results[name];
            var median = Stats.Median(values);
            report.Line($"| {name} | {Stats.F(median, 0)} | {Stats.F(values.Min(), 0)} | {Stats.F(values.Max(), 0)} | {Stats.F(median / rawBest * 100, 0)} % |");
        }
    }

    private static async Task<Measurement> StoreAsync(CommitMetrics metrics, int producers, int jobs, bool viaManager, bool labels = true)
    {
        var path = BenchPaths.DataFile("throughput.db");
        BenchPaths.DeleteDatabase(path);
        try
        {
            await using var host = await JobkeeperHost.StartAsync(path).ConfigureAwait(false);
            for (var i = 0; i < 1000; i++)
            {
                await host.Manager.CreateAsync(SampleJobs.New(1_000_000_000L + i)).ConfigureAwait(false);
            }

            metrics.Reset();
            var gcBefore = GC.CollectionCount(0);
            var pauseBefore = GC.GetTotalPauseDuration();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            long next = -1;
            var started = Stopwatch.GetTimestamp();
            var tasks = new Task[producers];
            for (var p = 0; p < producers; p++)
            {
                var random = new Random(p);
                tasks[p] = Task.Run(async () =>
                {
                    long i;
                    while ((i = Interlocked.Increment(ref next)) < jobs)
                    {
                        if (viaManager)
                        {
                            var job = SampleJobs.New(i);
                            await host.Manager.CreateAsync(labels ? job : job with { Labels = null }).ConfigureAwait(false);
                        }
                        else
                        {
                            // Created now, as JobManager would (time-ordered ids, so index inserts land where they would).
                            var (job, created) = SampleJobs.Seeded(i, DateTimeOffset.UtcNow, random, Model.JobStatus.Queued);
                            await host.Store.InsertAsync(job, created, CancellationToken.None).ConfigureAwait(false);
                        }
                    }
                });
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var c = metrics.Snapshot();
            var detail = $"(commits {c.Commits:N0}, mean batch {Stats.F((double)c.Operations / Math.Max(1, c.Commits))}, max batch {c.MaxBatch}, " +
                         $"writer in transactions {Stats.F(c.BusyMs / elapsed.TotalMilliseconds * 100, 0)} % of wall time, " +
                         $"process CPU {Stats.F(cpu / elapsed * 100, 0)} % of one core, gen0 GCs {GC.CollectionCount(0) - gcBefore}, " +
                         $"GC pauses {Stats.F((GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds, 0)} ms)";
            return new Measurement(jobs / elapsed.TotalSeconds, detail);
        }
        finally
        {
            BenchPaths.DeleteDatabase(path);
        }
    }

    private static async Task<Measurement> RawAsync(int jobs, int batch)
    {
        var path = BenchPaths.DataFile("throughput-raw.db");
        await RawSqlite.CreateSchemaAsync(path).ConfigureAwait(false);
        try
        {
            using var raw = RawSqlite.Open(path);
            raw.Begin();
            for (var i = 0; i < 1000; i++)
            {
                raw.InsertJob(1_000_000_000L + i);
            }

            raw.Commit();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < jobs; i += batch)
            {
                raw.Begin();
                var end = Math.Min(jobs, i + batch);
                for (var j = i; j < end; j++)
                {
                    raw.InsertJob(j);
                }

                raw.Commit();
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            return new Measurement(jobs / elapsed.TotalSeconds, $"({jobs:N0} jobs, single thread, process CPU {Stats.F(cpu / elapsed * 100, 0)} % of one core)");
        }
        finally
        {
            BenchPaths.DeleteDatabase(path);
        }
    }
}
