using System.Diagnostics;
using System.Text.Json;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Contracts;
using Jobkeeper.Model;
using Jobkeeper.Postgres;
using Jobkeeper.Sqlite;
using Npgsql;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// What creating jobs costs, per store: one-at-a-time creates (64 producers through <see cref="JobManager.CreateAsync(NewJob, CancellationToken)"/>)
/// without and with a <c>unique_key</c>; and a bulk create of N jobs with 2 labels each through <see cref="JobManager.CreateManyAsync"/>
/// (batches of 10,000) beside the database's raw batched insert of the same rows (job row, 2 label rows, creation event),
/// measured in the same round. Rounds interleave the variants, so the machine's drift hits them alike.
/// </summary>
public static class EnqueueSuite
{
    private const int Producers = 64;
    private const int BulkBatch = 10_000;

    public static async Task RunAsync(Report report, int rounds, int jobs, int bulk, bool postgres)
    {
        var store = postgres ? "PostgreSQL" : "SQLite";
        var results = new Dictionary<string, List<double>>();
        void Add(string name, double value) => (results.TryGetValue(name, out var list) ? list : results[name] = []).Add(value);
        for (var round = 0; round < rounds; round++)
        {
            Add("creates, no key", await CreatesAsync(jobs, unique: false, postgres).ConfigureAwait(false));
            Add("creates, unique_key", await CreatesAsync(jobs, unique: true, postgres).ConfigureAwait(false));
            Add("bulk create (CreateManyAsync)", await BulkAsync(bulk, postgres).ConfigureAwait(false));
            Add("raw batched insert", postgres ? await RawPostgresAsync(bulk).ConfigureAwait(false) : RawSqliteInsert(bulk));
        }

        report.Line($"### Creating jobs on {store} ({rounds} rounds, median jobs/s; one-at-a-time: {jobs:N0} jobs by {Producers} producers; bulk: {bulk:N0} jobs with 2 labels)");
        report.Line();
        report.Line("| measurement | median jobs/s | min | max |");
        report.Line("| --- | ---: | ---: | ---: |");
        foreach (var (name, values) in results)
        {
            report.Line($"| {name} | {Stats.F(Stats.Median(values), 0)} | {Stats.F(values.Min(), 0)} | {Stats.F(values.Max(), 0)} |");
        }

        var perRound = Enumerable.Range(0, rounds).Select(r => results["creates, unique_key"][r] / results["creates, no key"][r]).ToList();
        var bulkRatio = Enumerable.Range(0, rounds).Select(r => results["bulk create (CreateManyAsync)"][r] / results["raw batched insert"][r]).ToList();
        report.Line();
        report.Line($"unique_key / no key, per round: {string.Join(", ", perRound.Select(v => Stats.F(v * 100, 1) + " %"))} (median {Stats.F(Stats.Median(perRound) * 100, 1)} %)");
        report.Line($"bulk create / raw, per round: {string.Join(", ", bulkRatio.Select(v => Stats.F(v * 100, 1) + " %"))} (median {Stats.F(Stats.Median(bulkRatio) * 100, 1)} %)");
        report.Line();
    }

    private static async Task<(JobkeeperHost Host, string Path)> StartAsync(string name, bool postgres)
    {
        if (postgres)
        {
            var database = await PostgresBench.FreshDatabaseAsync(name).ConfigureAwait(false);
            return (await JobkeeperHost.StartAsync("", o => o.UsePostgres(database)).ConfigureAwait(false), "");
        }

        var path = BenchPaths.DataFile(name + ".db");
        BenchPaths.DeleteDatabase(path);
        return (await JobkeeperHost.StartAsync(path).ConfigureAwait(false), path);
    }

    private static async Task<double> CreatesAsync(int jobs, bool unique, bool postgres)
    {
        var (host, path) = await StartAsync(unique ? "enqueue_unique" : "enqueue_plain", postgres).ConfigureAwait(false);
        try
        {
            await using (host.ConfigureAwait(false))
            {
                // Warm: the statements prepared, the pools full.
                for (var i = 0; i < 1000; i++)
                {
                    await host.Manager.CreateAsync(Job(1_000_000_000L + i, unique)).ConfigureAwait(false);
                }

                long next = -1;
                var started = Stopwatch.GetTimestamp();
                await Task.WhenAll(Enumerable.Range(0, Producers).Select(_ => Task.Run(async () =>
                {
                    long i;
                    while ((i = Interlocked.Increment(ref next)) < jobs)
                    {
                        var job = await host.Manager.CreateAsync(Job(i, unique)).ConfigureAwait(false);
                        if (job.Existing == true)
                        {
                            throw new InvalidOperationException("Every key is new: no create may find an existing job.");
                        }
                    }
                }))).ConfigureAwait(false);
                return jobs / Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
        }
        finally
        {
            if (path.Length > 0)
            {
                BenchPaths.DeleteDatabase(path);
            }
        }
    }

    // A key per job, as a caller making each submission idempotent would send (an order id, a file hash).
    private static NewJob Job(long i, bool unique) => unique ? SampleJobs.New(i) with { UniqueKey = "order:" + i } : SampleJobs.New(i);

    private static async Task<double> BulkAsync(int jobs, bool postgres)
    {
        var (host, path) = await StartAsync("enqueue_bulk", postgres).ConfigureAwait(false);
        try
        {
            await using (host.ConfigureAwait(false))
            {
                var requests = Enumerable.Range(0, jobs).Select(i => SampleJobs.New(i)).ToList();
                await host.Manager.CreateManyAsync([.. Enumerable.Range(0, 1000).Select(i => SampleJobs.New(2_000_000_000L + i))]).ConfigureAwait(false);
                var started = Stopwatch.GetTimestamp();
                foreach (var batch in requests.Chunk(BulkBatch))
                {
                    var items = await host.Manager.CreateManyAsync(batch).ConfigureAwait(false);
                    if (items.Any(i => i.Outcome != BatchCreateItem.CreatedOutcome))
                    {
                        throw new InvalidOperationException("Every job of the bulk create must be created.");
                    }
                }

                return jobs / Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
        }
        finally
        {
            if (path.Length > 0)
            {
                BenchPaths.DeleteDatabase(path);
            }
        }
    }

    /// <summary>Microsoft.Data.Sqlite alone on the store's schema: the same rows in transactions of 10,000, prepared statements.</summary>
    private static double RawSqliteInsert(int jobs)
    {
        var path = BenchPaths.DataFile("enqueue-raw.db");
        RawSqlite.CreateSchemaAsync(path).GetAwaiter().GetResult();
        try
        {
            using var raw = RawSqlite.Open(path);
            var started = Stopwatch.GetTimestamp();
            for (var start = 0; start < jobs; start += BulkBatch)
            {
                raw.Begin();
                for (var i = start; i < Math.Min(jobs, start + BulkBatch); i++)
                {
                    raw.InsertJob(i);
                }

                raw.Commit();
            }

            return jobs / Stopwatch.GetElapsedTime(started).TotalSeconds;
        }
        finally
        {
            BenchPaths.DeleteDatabase(path);
        }
    }

    /// <summary>
    /// Npgsql alone on the store's schema: per 10,000 jobs, one transaction with three multi-row statements (jobs, labels,
    /// events) from arrays, the fastest plain-SQL form (the one the store uses).
    /// </summary>
    private static async Task<double> RawPostgresAsync(int jobs)
    {
        var database = await PostgresBench.FreshDatabaseAsync("enqueue_raw").ConfigureAwait(false);
        await using (var schema = await JobkeeperHost.StartAsync("", o => o.UsePostgres(database)).ConfigureAwait(false))
        {
        }

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync().ConfigureAwait(false);
        long eventId = 0;
        var started = Stopwatch.GetTimestamp();
        for (var start = 0; start < jobs; start += BulkBatch)
        {
            var count = Math.Min(BulkBatch, jobs - start);
            var now = Storage.TimeMicros.From(DateTimeOffset.UtcNow);
            var ids = new string[count];
            var types = new string[count];
            var labels = new string[count];
            var labelIds = new List<string>(count * 2);
            var labelKeys = new List<string>(count * 2);
            var labelValues = new List<string>(count * 2);
            var eventIds = new long[count];
            for (var k = 0; k < count; k++)
            {
                var i = start + k;
                ids[k] = Guid.CreateVersion7().ToString("D");
                types[k] = SampleJobs.Types[i % SampleJobs.Types.Length];
                var jobLabels = SampleJobs.Labels(i);
                labels[k] = JsonSerializer.Serialize(jobLabels);
                foreach (var (key, value) in jobLabels)
                {
                    labelIds.Add(ids[k]);
                    labelKeys.Add(key);
                    labelValues.Add(value);
                }

                eventIds[k] = ++eventId;
            }

            await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(Command(
                "INSERT INTO jobs (id, type, status, priority, input, labels, attempt, max_attempts, created_us, updated_us, run_at_us, version, queue) " +
                "SELECT u.id, u.type, 'queued', 0, $3, u.labels, 1, 3, $4, $4, $4, 1, 'default' FROM unnest($1::text[], $2::text[], $5::text[]) AS u(id, type, labels)",
                ids, types, SampleJobs.Input.GetRawText(), now, labels));
            batch.BatchCommands.Add(Command(
                "INSERT INTO job_labels (job_id, key, value, created_us) SELECT u.*, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u",
                labelIds.ToArray(), labelKeys.ToArray(), labelValues.ToArray(), now));
            batch.BatchCommands.Add(Command(
                "INSERT INTO job_events (id, job_id, type, at_us, actor, version, job_status) SELECT u.eid, u.id, 'created', $3, 'app', 1, 'queued' " +
                "FROM unnest($1::bigint[], $2::text[]) AS u(eid, id)",
                eventIds, ids, now));
            await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
            await transaction.CommitAsync().ConfigureAwait(false);
        }

        return jobs / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }
}
