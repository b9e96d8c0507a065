using System.Diagnostics;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Jobkeeper.Postgres;
using Jobkeeper.Sqlite;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// What the search index costs: creates by 64 producers, and enqueue → in-process handler → completed with a result, each
/// with the index's triggers as migrated (and the search indexer running) and on a database whose triggers were dropped (the
/// indexer then finds nothing to do), alternating in every round so the machine's drift hits both alike. The ratio with /
/// without is the index's cost.
/// </summary>
public static class SearchCostSuite
{
    private const int Producers = 64;
    private const string Type = "bench.search";

    public static async Task RunAsync(Report report, int rounds, int jobs, bool postgres)
    {
        var store = postgres ? "PostgreSQL" : "SQLite";
        var results = new Dictionary<string, List<double>>();
        void Add(string name, double value) => (results.TryGetValue(name, out var list) ? list : results[name] = []).Add(value);
        // Round 0 warms the process (JIT, pools) and is not counted; then the order of the variants alternates.
        for (var round = 0; round <= rounds; round++)
        {
            foreach (var indexed in round % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var label = indexed ? "with the search index" : "without it";
                var creates = await RunOnceAsync(jobs, indexed, postgres, complete: false).ConfigureAwait(false);
                var endToEnd = await RunOnceAsync(jobs, indexed, postgres, complete: true).ConfigureAwait(false);
                if (round > 0)
                {
                    Add($"creates, {label}", creates);
                    Add($"enqueue → completed with a result, {label}", endToEnd);
                }
            }
        }

        report.Line($"### The search index on {store} ({rounds} rounds, {jobs:N0} jobs each, median jobs/s)");
        report.Line();
        report.Line("| measurement | median jobs/s | min | max |");
        report.Line("| --- | ---: | ---: | ---: |");
        foreach (var (name, values) in results)
        {
            report.Line($"| {name} | {Stats.F(Stats.Median(values), 0)} | {Stats.F(values.Min(), 0)} | {Stats.F(values.Max(), 0)} |");
        }

        report.Line();
        foreach (var what in new[] { "creates", "enqueue → completed with a result" })
        {
            var ratios = Enumerable.Range(0, rounds).Select(r => results[$"{what}, with the search index"][r] / results[$"{what}, without it"][r]).ToList();
            report.Line($"{what}: with / without, per round: {string.Join(", ", ratios.Select(v => Stats.F(v * 100, 1) + " %"))} (median {Stats.F(Stats.Median(ratios) * 100, 1)} %)");
        }

        report.Line();
    }

    private static async Task<double> RunOnceAsync(int jobs, bool indexed, bool postgres, bool complete)
    {
        var name = $"search_{(indexed ? "on" : "off")}_{(complete ? "e2e" : "creates")}";
        string? database = null;
        var path = "";
        if (postgres)
        {
            database = await PostgresBench.FreshDatabaseAsync(name).ConfigureAwait(false);
        }
        else
        {
            path = BenchPaths.DataFile(name + ".db");
            BenchPaths.DeleteDatabase(path);
        }

        void Store(JobkeeperOptions o)
        {
            if (database is not null)
            {
                o.UsePostgres(database);
            }
        }

        // Migrated once, then (without the index) its triggers dropped before the measured host opens the database.
        await (await JobkeeperHost.StartAsync(path, Store).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        if (!indexed)
        {
            if (database is not null)
            {
                await PostgresBench.ExecuteAsync(database, "DROP TRIGGER jobs_search_insert ON jobs; DROP TRIGGER jobs_search_update ON jobs;").ConfigureAwait(false);
            }
            else
            {
                using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(path), Pooling = false }.ToString());
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "DROP TRIGGER jobs_search_insert; DROP TRIGGER jobs_search_update; DROP TRIGGER jobs_search_delete;";
                command.ExecuteNonQuery();
            }
        }

        var completed = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<Verdict> Complete()
        {
            if (Interlocked.Increment(ref completed) == jobs)
            {
                done.TrySetResult();
            }

            return Task.FromResult(new Verdict(3, "accepted", "fine"));
        }

        try
        {
            await using var host = await JobkeeperHost.StartAsync(path, o =>
            {
                Store(o);
                o.Workers.MaxConcurrency = 32;
            }, handlers: complete ? b => { b.AddHandler(Type, (_, _) => Complete()); } : null).ConfigureAwait(false);
            long next = -1;
            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, Producers).Select(_ => Task.Run(async () =>
            {
                long i;
                while ((i = Interlocked.Increment(ref next)) < jobs)
                {
                    await host.Manager.CreateAsync(SampleJobs.New(i) with { Type = complete ? Type : "bench.search.idle" }).ConfigureAwait(false);
                }
            }))).ConfigureAwait(false);
            if (complete)
            {
                await done.Task.WaitAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false);
            }

            return jobs / Stopwatch.GetElapsedTime(started).TotalSeconds;
        }
        finally
        {
            if (path.Length > 0)
            {
                BenchPaths.DeleteDatabase(path);
            }
        }
    }

    /// <summary>The result each handler completes with: a few words for the index.</summary>
    private sealed record Verdict(int Words, string Outcome, string Note);
}
