using System.Diagnostics;
using Jobkeeper.Benchmarks.Harness;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// Experiments that explain the write and listing numbers (they change nothing under src/): the same raw
/// inserts as the throughput baseline on variants of the schema and pragmas, and the slow listing shapes
/// on a copy of the 1M-job store with extra indexes.
/// </summary>
public static class ExperimentsSuite
{
    private sealed record SchemaVariant(string Name, string[] Sql, bool LabelRows = true, bool EventRow = true, string? Pragma = null);

    private static readonly SchemaVariant[] Variants =
    [
        new("current schema (as migrated)", []),
        new("no ix_job_labels_lookup", ["DROP INDEX ix_job_labels_lookup"]),
        new("job_labels keyed (key, value, created_us, job_id) WITHOUT ROWID, no second index",
        [
            "DROP TABLE job_labels",
            "CREATE TABLE job_labels (job_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, created_us INTEGER NOT NULL, PRIMARY KEY (key, value, created_us, job_id)) WITHOUT ROWID",
        ]),
        new("no label rows at all", [], LabelRows: false),
        new("no creation event row", [], EventRow: false),
        new("no ix_jobs_created", ["DROP INDEX ix_jobs_created"]),
        new("writer with PRAGMA mmap_size = 256 MiB", [], Pragma: "PRAGMA mmap_size = 268435456"),
        new("wal_autocheckpoint = 0 (checkpoints left to another connection)", [], Pragma: "PRAGMA wal_autocheckpoint = 0"),
        new("no ix_job_labels_lookup and wal_autocheckpoint = 0", ["DROP INDEX ix_job_labels_lookup"], Pragma: "PRAGMA wal_autocheckpoint = 0"),
    ];

    public static async Task RunAsync(Report report, string part, int rounds)
    {
        if (part is "all" or "writes")
        {
            await WritesAsync(report, rounds).ConfigureAwait(false);
        }

        if (part is "all" or "hops")
        {
            await HopsAsync(report).ConfigureAwait(false);
            await SequentialBreakdownAsync(report).ConfigureAwait(false);
        }

        if (part is "all" or "list")
        {
            await ListAsync(report).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Where a sequential durable create spends its time: end to end (JobManager.CreateAsync awaited) against
    /// the time the writer spent in the transaction (the store's own commit-duration histogram).
    /// </summary>
    private static async Task SequentialBreakdownAsync(Report report)
    {
        var path = BenchPaths.DataFile("experiment-sequential.db");
        BenchPaths.DeleteDatabase(path);
        try
        {
            using var metrics = new CommitMetrics();
            await using var host = await JobkeeperHost.StartAsync(path).ConfigureAwait(false);
            for (var i = 0; i < 3000; i++)
            {
                await host.Manager.CreateAsync(SampleJobs.New(i)).ConfigureAwait(false);
            }

            report.Line("## Sequential create: end to end against the writer's transaction time");
            report.Line();
            report.Line("| path | µs per create, end to end | µs in the writer's transaction | rest (hand-offs, JobManager, values, cache) |");
            report.Line("| --- | ---: | ---: | ---: |");
            foreach (var viaManager in new[] { true, false, true, false })
            {
                metrics.Reset();
                const int N = 5000;
                var random = new Random(1);
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < N; i++)
                {
                    if (viaManager)
                    {
                        await host.Manager.CreateAsync(SampleJobs.New(100_000 + i)).ConfigureAwait(false);
                    }
                    else
                    {
                        var (job, created) = SampleJobs.Seeded(200_000 + i, DateTimeOffset.UtcNow, random, Model.JobStatus.Queued);
                        await host.Store.InsertAsync(job, created, CancellationToken.None).ConfigureAwait(false);
                    }
                }

                var total = Stopwatch.GetElapsedTime(started).TotalMicroseconds / N;
                var inTransaction = metrics.Snapshot().BusyMs * 1000 / N;
                report.Line($"| {(viaManager ? "JobManager.CreateAsync" : "IJobStore.InsertAsync")} | {Stats.F(total, 0)} | {Stats.F(inTransaction, 0)} | {Stats.F(total - inTransaction, 0)} |");
            }

            report.Line();
        }
        finally
        {
            BenchPaths.DeleteDatabase(path);
        }
    }

    /// <summary>
    /// The round trip every store write makes without any SQL: the caller's op goes through an unbounded
    /// channel (SingleReader, no synchronous continuations) to a loop on the thread pool, which completes a
    /// TaskCompletionSource with RunContinuationsAsynchronously — the same hand-offs as the stores' GroupCommitWriter.
    /// </summary>
    private static async Task HopsAsync(Report report)
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<TaskCompletionSource<bool>>(
            new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
        var loop = Task.Run(async () =>
        {
            var reader = channel.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var op))
                {
                    op.TrySetResult(true);
                }
            }
        });
        var samples = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            const int N = 20_000;
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < N; i++)
            {
                var op = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                channel.Writer.TryWrite(op);
                await op.Task.ConfigureAwait(false);
            }

            samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds / N);
        }

        channel.Writer.Complete();
        await loop.ConfigureAwait(false);
        report.Line("## Hand-off cost without SQL");
        report.Line();
        report.Line($"Sequential round trips caller → channel → writer loop (thread pool) → TaskCompletionSource (asynchronous continuations) → caller: " +
                    $"median {Stats.F(Stats.Median(samples), 1)} µs per write (5 runs of 20,000: {string.Join(", ", samples.Select(s => Stats.F(s, 1)))}).");
        report.Line();
    }

    private static async Task WritesAsync(Report report, int rounds)
    {
        report.Line("## Write amplification: raw inserts on schema variants");
        report.Line();
        report.Line("Each variant: fresh database with the migrated schema, then the variant's change, 20,000 jobs pre-filled; " +
                    "WAL frames per commit counted over 50 commits of 64 jobs with auto-checkpoint off; then 20,000 jobs in " +
                    "batches of 64 and 1,000 single-job commits timed with the default auto-checkpoint. " +
                    $"{rounds} rounds, interleaved; medians.");
        report.Line();
        var frames = Variants.ToDictionary(v => v.Name, _ => new List<double>());
        var batchRate = Variants.ToDictionary(v => v.Name, _ => new List<double>());
        var singleUs = Variants.ToDictionary(v => v.Name, _ => new List<double>());
        var singleMax = Variants.ToDictionary(v => v.Name, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var variant in Variants)
            {
                var (f, rate, us, max) = await MeasureVariantAsync(variant).ConfigureAwait(false);
                frames[variant.Name].Add(f);
                batchRate[variant.Name].Add(rate);
                singleUs[variant.Name].Add(us);
                singleMax[variant.Name].Add(max);
                Console.WriteLine($"  round {round + 1} {variant.Name}: {f:F1} frames/commit, {rate:F0} jobs/s in batches of 64, {us:F0} us per single-job commit (max {max:F1} ms)");
            }
        }

        report.Line("| variant | WAL pages per 64-job commit | jobs/s, batches of 64 | µs per single-job commit | max single commit (ms) |");
        report.Line("| --- | ---: | ---: | ---: | ---: |");
        foreach (var variant in Variants)
        {
            report.Line($"| {variant.Name} | {Stats.F(Stats.Median(frames[variant.Name]))} | {Stats.F(Stats.Median(batchRate[variant.Name]), 0)} | " +
                        $"{Stats.F(Stats.Median(singleUs[variant.Name]), 0)} | {Stats.F(Stats.Median(singleMax[variant.Name]))} |");
        }

        report.Line();
    }

    private static async Task<(double Frames, double BatchRate, double SingleUs, double SingleMaxMs)> MeasureVariantAsync(SchemaVariant variant)
    {
        var path = BenchPaths.DataFile("experiment-writes.db");
        await RawSqlite.CreateSchemaAsync(path).ConfigureAwait(false);
        try
        {
            using var raw = RawSqlite.Open(path);
            foreach (var sql in variant.Sql)
            {
                raw.Execute(sql);
            }

            if (variant.Pragma is not null)
            {
                raw.Execute(variant.Pragma);
            }

            long i = 0;
            void Batch(int n)
            {
                raw.Begin();
                for (var k = 0; k < n; k++)
                {
                    raw.InsertJob(i++, variant.LabelRows, variant.EventRow);
                }

                raw.Commit();
            }

            for (var b = 0; b < 20; b++)
            {
                Batch(1000);
            }

            // Pages written per commit: WAL growth with checkpoints off.
            raw.Execute("PRAGMA wal_checkpoint(TRUNCATE)");
            raw.Execute("PRAGMA wal_autocheckpoint = 0");
            for (var c = 0; c < 50; c++)
            {
                Batch(64);
            }

            var pageSize = 4096L;
            var frames = new FileInfo(path + "-wal").Length / (double)(pageSize + 24) / 50;
            raw.Execute("PRAGMA wal_checkpoint(TRUNCATE)");
            raw.Execute(variant.Pragma == "PRAGMA wal_autocheckpoint = 0" ? variant.Pragma : "PRAGMA wal_autocheckpoint = 1000");

            var started = Stopwatch.GetTimestamp();
            for (var c = 0; c < 20_000 / 64; c++)
            {
                Batch(64);
            }

            var rate = 20_000 / 64 * 64 / Stopwatch.GetElapsedTime(started).TotalSeconds;

            var max = 0.0;
            started = Stopwatch.GetTimestamp();
            for (var c = 0; c < 1000; c++)
            {
                var t = Stopwatch.GetTimestamp();
                Batch(1);
                max = Math.Max(max, Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }

            var singleUs = Stopwatch.GetElapsedTime(started).TotalMicroseconds / 1000;
            return (frames, rate, singleUs, max);
        }
        finally
        {
            BenchPaths.DeleteDatabase(path);
        }
    }

    private static async Task ListAsync(Report report)
    {
        var source = await MillionJobStore.EnsureAsync(Console.Out).ConfigureAwait(false);
        var path = BenchPaths.DataFile("store-1m-experiment.db");
        report.Line("## Listing: the slow filter shapes with extra indexes (copy of the 1M-job store)");
        report.Line();
        BenchPaths.DeleteDatabase(path);
        File.Copy(source, path);
        try
        {
            using var raw = RawSqlite.Open(path);
            const string Columns = "j.id, j.type, j.status, j.priority, j.input, j.labels, j.progress, j.result, j.error, j.attempt, j.max_attempts, " +
                                   "j.created_us, j.updated_us, j.started_us, j.completed_us, j.run_at_us, j.lease_owner, j.lease_expires_us, j.lease_token, j.version";
            var statusType = $"SELECT {Columns} FROM jobs j WHERE j.status IN ('queued') AND j.type = 'video.render' ORDER BY j.created_us DESC, j.id DESC LIMIT 101";
            var labelStatus = $"SELECT {Columns} FROM job_labels l JOIN jobs j ON j.id = l.job_id WHERE l.key = 'series_id' AND l.value = 's7' AND j.status IN ('failed') ORDER BY l.created_us DESC, l.job_id DESC LIMIT 101";
            var labelStatusType = $"SELECT {Columns} FROM job_labels l JOIN jobs j ON j.id = l.job_id WHERE l.key = 'series_id' AND l.value = 's7' AND j.status IN ('queued') AND j.type = 'video.render' ORDER BY l.created_us DESC, l.job_id DESC LIMIT 101";

            report.Line("| query (page of 100, newest first) | as today | with the extra index | extra index |");
            report.Line("| --- | ---: | ---: | --- |");
            var before = Time(raw.Connection, statusType);
            raw.Execute("CREATE INDEX ix_x_jobs_status_type_created ON jobs (status, type, created_us DESC, id DESC)");
            var after = Time(raw.Connection, statusType);
            report.Line($"| status=queued & type | {Ms(before)} | {Ms(after)} | jobs (status, type, created_us DESC, id DESC) |");

            var beforeLs = Time(raw.Connection, labelStatus);
            var beforeLst = Time(raw.Connection, labelStatusType);
            // Denormalised copy of status and type in the label rows (the store would keep them in step on each status change).
            raw.Execute("ALTER TABLE job_labels ADD COLUMN status TEXT");
            raw.Execute("ALTER TABLE job_labels ADD COLUMN type TEXT");
            raw.Execute("UPDATE job_labels SET status = (SELECT status FROM jobs WHERE id = job_id), type = (SELECT type FROM jobs WHERE id = job_id)");
            raw.Execute("CREATE INDEX ix_x_labels_status ON job_labels (key, value, status, created_us DESC, job_id DESC, type)");
            var labelStatusX = $"SELECT {Columns} FROM job_labels l JOIN jobs j ON j.id = l.job_id WHERE l.key = 'series_id' AND l.value = 's7' AND l.status = 'failed' ORDER BY l.created_us DESC, l.job_id DESC LIMIT 101";
            var labelStatusTypeX = $"SELECT {Columns} FROM job_labels l JOIN jobs j ON j.id = l.job_id WHERE l.key = 'series_id' AND l.value = 's7' AND l.status = 'queued' AND l.type = 'video.render' ORDER BY l.created_us DESC, l.job_id DESC LIMIT 101";
            var afterLs = Time(raw.Connection, labelStatusX);
            var afterLst = Time(raw.Connection, labelStatusTypeX);
            report.Line($"| label series_id=s7 & status=failed | {Ms(beforeLs)} | {Ms(afterLs)} | job_labels gets status, type columns; index (key, value, status, created_us DESC, job_id DESC, type) |");
            report.Line($"| label series_id=s7 & status=queued & type | {Ms(beforeLst)} | {Ms(afterLst)} | same |");
            report.Line();
            report.Line("Times: median of 30 runs of the SQL through Microsoft.Data.Sqlite (all columns read), after 3 warm-up runs.");
        }
        finally
        {
            BenchPaths.DeleteDatabase(path);
        }
    }

    private static string Ms(double ms) => Stats.F(ms, 2) + " ms";

    private static double Time(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        var samples = new List<double>();
        for (var run = 0; run < 33; run++)
        {
            var started = Stopwatch.GetTimestamp();
            var rows = 0;
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    _ = reader.GetString(0);
                    _ = reader.IsDBNull(4) ? null : reader.GetString(4);
                    rows++;
                }
            }

            if (run >= 3)
            {
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            if (rows == 0)
            {
                throw new InvalidOperationException("experiment query returned nothing: " + sql);
            }
        }

        return Stats.Median(samples);
    }
}
