using System.Collections.Concurrent;
using System.Diagnostics;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Contracts;
using Jobkeeper.Model;
using Jobkeeper.Queues;
using Jobkeeper.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// What flow control costs: the same no-op drain (workers claim by queue, up to 16 jobs a claim, and complete each) with
/// no settings, with a global concurrency limit set too high to bind, and with 1,000 partition keys (a limit per key that
/// does not bind either), measured in turn in each round on a fresh database, on SQLite and (with PG_BENCH) PostgreSQL.
/// Reports jobs/s, each setup's rate as a share of the no-limit rate of the same round, and the claim latency p50.
/// </summary>
public static class FlowSuite
{
    private const string Queue = "bench";
    private const string Type = "bench.flow";
    private const int Keys = 1000;
    private const int ClaimMax = 16;

    private static readonly (string Name, UpdateQueueRequest? Settings)[] Setups =
    [
        ("no limits", null),
        ("global limit 100,000 (does not bind)", new UpdateQueueRequest { ConcurrencyLimit = 100_000 }),
        ($"{Keys:N0} partitions, limit 10 per key", new UpdateQueueRequest { Partition = new QueuePartition { Key = "label:tenant", Limit = 10 } }),
    ];

    public static async Task RunAsync(Report report, int rounds, int jobs, int workers, bool postgres)
    {
        var store = postgres ? "PostgreSQL" : "SQLite";
        report.Line($"{store}; {jobs:N0} no-op jobs per drain in queue `{Queue}` ({Keys:N0} tenants); {workers} workers claiming by queue, " +
            $"up to {ClaimMax} a claim, completing each; fresh database per drain; one warm-up round not counted.");
        report.Line();
        var rates = Setups.Select(_ => new List<double>()).ToArray();
        var shares = Setups.Select(_ => new List<double>()).ToArray();
        var p50s = Setups.Select(_ => new List<double>()).ToArray();
        var cpus = Setups.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round <= rounds; round++)
        {
            report.Line(round == 0 ? "### Warm-up round (not counted)" : $"### Round {round}");
            double? baseline = null;
            for (var s = 0; s < Setups.Length; s++)
            {
                var (rate, claimP50, cpu) = await DrainAsync(jobs, workers, Setups[s].Settings, postgres, $"flow_{s}").ConfigureAwait(false);
                baseline ??= rate;
                var share = rate / baseline.Value;
                report.Line($"- {Setups[s].Name}: **{Stats.F(rate, 0)} jobs/s** ({Stats.F(share * 100, 1)} % of no limits), claim p50 {Stats.F(claimP50, 3)} ms, " +
                    $"{Stats.F(cpu, 0)} µs CPU per job");
                if (round > 0)
                {
                    rates[s].Add(rate);
                    shares[s].Add(share);
                    p50s[s].Add(claimP50);
                    cpus[s].Add(cpu);
                }
            }

            report.Line();
        }

        report.Line($"### {store}: medians of {rounds} rounds");
        report.Line();
        report.Line("| setup | jobs/s | share of no limits (same round) | claim p50, ms | CPU per job, µs |");
        report.Line("| --- | ---: | ---: | ---: | ---: |");
        for (var s = 0; s < Setups.Length; s++)
        {
            report.Line($"| {Setups[s].Name} | {Stats.F(Stats.Median(rates[s]), 0)} | {Stats.F(Stats.Median(shares[s]) * 100, 1)} % | " +
                $"{Stats.F(Stats.Median(p50s[s]), 3)} | {Stats.F(Stats.Median(cpus[s]), 0)} |");
        }

        report.Line();
    }

    private static async Task<(double PerSecond, double ClaimP50, double CpuPerJob)> DrainAsync(int jobs, int workers, UpdateQueueRequest? settings,
        bool postgres, string name)
    {
        string? database = null;
        string path;
        Action<JobkeeperOptions>? configure = null;
        if (postgres)
        {
            database = await PostgresBench.FreshDatabaseAsync(name).ConfigureAwait(false);
            configure = o => o.UsePostgres(database);
            path = "";
        }
        else
        {
            path = BenchPaths.DataFile(name + ".db");
            BenchPaths.DeleteDatabase(path);
        }

        await using var host = await JobkeeperHost.StartAsync(path, configure).ConfigureAwait(false);
        for (var start = 0; start < jobs; start += 1000)
        {
            var batch = Enumerable.Range(start, Math.Min(1000, jobs - start)).Select(i => new NewJob
            {
                Type = Type,
                Queue = Queue,
                Labels = new Dictionary<string, string> { ["tenant"] = $"t{i % Keys}" },
            }).ToList();
            await host.Manager.CreateManyAsync(batch).ConfigureAwait(false);
        }

        if (settings is not null)
        {
            await host.Services.GetRequiredService<QueueManager>().UpdateAsync(Queue, settings).ConfigureAwait(false);
        }

        var queue = host.Services.GetRequiredService<WorkQueue>();
        var latencies = new ConcurrentBag<double>();
        var done = 0;
        var cpu = await CpuWindow.StartAsync(database).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var worker = $"w{w}";
            while (Volatile.Read(ref done) < jobs)
            {
                var before = Stopwatch.GetTimestamp();
                var claimed = await queue.ClaimAsync(worker, new Dictionary<string, int>(), [Queue], ClaimMax, TimeSpan.FromMinutes(5)).ConfigureAwait(false);
                latencies.Add(Stopwatch.GetElapsedTime(before).TotalMilliseconds);
                if (claimed.Count == 0)
                {
                    await Task.Yield();
                    continue;
                }

                await Task.WhenAll(claimed.Select(j => queue.CompleteAsync(j.Id, j.LeaseToken!, null))).ConfigureAwait(false);
                Interlocked.Add(ref done, claimed.Count);
            }
        }))).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var sorted = latencies.Order().ToArray();
        return (jobs / elapsed.TotalSeconds, Stats.Percentile(sorted, 0.5), cpu.PerJob(jobs).Total);
    }
}
