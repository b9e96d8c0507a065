using System.Collections.Concurrent;
using System.Diagnostics;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Model;
using Jobkeeper.Queues;
using Jobkeeper.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// The foundation and worker measurements on PostgreSQL, with one and with three instances (each its own host,
/// store, cache and workers, as separate servers would be) on one database: one-at-a-time creates from 64
/// concurrent producers, no-op jobs enqueued and processed at once, draining a full queue, pickup latency; then
/// claim and list cost as the table grows to 1,000,000 finished jobs. Fresh database per measurement; medians.
/// </summary>
public static class PostgresSuite
{
    private const string NoOp = "bench.noop";

    /// <param name="limit">A global concurrency limit on the queue the drain takes its jobs from; 0 for none.</param>
    public static async Task RunAsync(Report report, int rounds, int jobs, int concurrency, bool scale, int[] instanceCounts, string? only, int limit = 0)
    {
        bool Runs(string name) => only is null || only.Split(',').Contains(name);
        report.Line($"PostgreSQL; {jobs:N0} jobs per throughput measurement; Workers.MaxConcurrency = {concurrency} per instance; fresh database each; synchronous_commit on." +
            (limit > 0 ? $" The drain's queue has a global concurrency limit of {limit:N0}." : ""));
        report.Line();
        var results = new Dictionary<string, List<double>>();
        void Add(string key, double value) => (results.TryGetValue(key, out var list) ? list : results[key] = []).Add(value);

        for (var round = 0; round <= rounds; round++)
        {
            report.Line(round == 0 ? "### Warm-up round (not counted)" : $"### Round {round}");
            foreach (var instances in instanceCounts)
            {
                if (Runs("creates"))
                {
                    var creates = await CreatesAsync(jobs, producers: 64, instances).ConfigureAwait(false);
                    report.Line($"- {instances} instance(s): one-at-a-time creates, 64 producers: **{Stats.F(creates.PerSecond, 0)} jobs/s** {creates.Detail}");
                    if (round > 0)
                    {
                        Add($"creates/s, {instances} instance(s)", creates.PerSecond);
                    }
                }

                if (Runs("e2e"))
                {
                    var e2e = await EndToEndAsync(jobs, producers: 64, instances, concurrency).ConfigureAwait(false);
                    report.Line($"- {instances} instance(s): enqueue → handler → completed: **{Stats.F(e2e.PerSecond, 0)} jobs/s** {e2e.Detail}");
                    if (round > 0)
                    {
                        Add($"enqueue → completed jobs/s, {instances} instance(s)", e2e.PerSecond);
                    }
                }

                if (Runs("drain"))
                {
                    var drain = await DrainAsync(jobs, instances, concurrency, limit).ConfigureAwait(false);
                    report.Line($"- {instances} instance(s): drain a queue of {jobs:N0}: **{Stats.F(drain.PerSecond, 0)} jobs/s** {drain.Detail}");
                    if (round > 0)
                    {
                        Add($"drain jobs/s, {instances} instance(s)", drain.PerSecond);
                    }
                }

                if (Runs("pickup"))
                {
                    var pickup = await PickupAsync(samples: 500, instances).ConfigureAwait(false);
                    report.Line($"- {instances} instance(s): pickup latency, one job at a time: p50 **{Stats.F(Stats.Percentile(pickup, 0.5), 3)} ms**, p99 {Stats.F(Stats.Percentile(pickup, 0.99), 3)} ms");
                    if (round > 0)
                    {
                        Add($"pickup p50 ms, {instances} instance(s)", Stats.Percentile(pickup, 0.5));
                        Add($"pickup p99 ms, {instances} instance(s)", Stats.Percentile(pickup, 0.99));
                    }
                }
            }

            report.Line();
        }

        report.Line($"### Medians of {rounds} rounds");
        report.Line();
        report.Line("| measurement | median | min | max |");
        report.Line("| --- | ---: | ---: | ---: |");
        foreach (var (name, values) in results)
        {
            var digits = name.Contains("ms", StringComparison.Ordinal) ? 3 : 0;
            report.Line($"| {name} | {Stats.F(Stats.Median(values), digits)} | {Stats.F(values.Min(), digits)} | {Stats.F(values.Max(), digits)} |");
        }

        if (scale)
        {
            report.Line();
            await ScaleAsync(report).ConfigureAwait(false);
        }
    }

    private static async Task<(double PerSecond, string Detail)> CreatesAsync(int jobs, int producers, int instances)
    {
        var database = await PostgresBench.FreshDatabaseAsync("bench_creates").ConfigureAwait(false);
        var hosts = await StartAsync(database, instances, concurrency: 0, counter: null).ConfigureAwait(false);
        try
        {
            using var metrics = new CommitMetrics();
            var started = Stopwatch.GetTimestamp();
            await ProduceAsync(hosts, jobs, producers).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            return (jobs / elapsed.TotalSeconds, $"({Stats.F(elapsed.TotalSeconds, 2)} s; {metrics.Describe()})");
        }
        finally
        {
            await StopAsync(hosts).ConfigureAwait(false);
        }
    }

    private static async Task<(double PerSecond, string Detail)> EndToEndAsync(int jobs, int producers, int instances, int concurrency)
    {
        var database = await PostgresBench.FreshDatabaseAsync("bench_e2e").ConfigureAwait(false);
        var completed = new CompletionCounter(jobs);
        var hosts = await StartAsync(database, instances, concurrency, completed).ConfigureAwait(false);
        try
        {
            using var metrics = new CommitMetrics();
            var started = Stopwatch.GetTimestamp();
            await ProduceAsync(hosts, jobs, producers).ConfigureAwait(false);
            var enqueued = Stopwatch.GetElapsedTime(started);
            await completed.Done.WaitAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            return (jobs / elapsed.TotalSeconds,
                $"(all enqueued after {Stats.F(enqueued.TotalSeconds, 2)} s, all completed after {Stats.F(elapsed.TotalSeconds, 2)} s; {completed.Spread()}; {metrics.Describe()})");
        }
        finally
        {
            await StopAsync(hosts).ConfigureAwait(false);
        }
    }

    private static async Task<(double PerSecond, string Detail)> DrainAsync(int jobs, int instances, int concurrency, int limit)
    {
        var database = await PostgresBench.FreshDatabaseAsync("bench_drain").ConfigureAwait(false);
        var fillers = await StartAsync(database, 1, concurrency: 0, counter: null).ConfigureAwait(false);
        await ProduceAsync(fillers, jobs, producers: 32).ConfigureAwait(false);
        await StopAsync(fillers).ConfigureAwait(false);
        await ExplainSampleAsync(database).ConfigureAwait(false);

        var completed = new CompletionCounter(jobs);
        var cpu = await CpuWindow.StartAsync(database).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var hosts = await StartAsync(database, instances, concurrency, completed, limit).ConfigureAwait(false);
        try
        {
            using var metrics = new CommitMetrics();
            await completed.Done.WaitAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var startUp = Stopwatch.GetElapsedTime(started, completed.FirstAt);
            return (jobs / elapsed.TotalSeconds, $"({Stats.F(elapsed.TotalSeconds, 2)} s including start-up, first job completed after " +
                $"{Stats.F(startUp.TotalSeconds, 2)} s; {cpu.Describe(jobs)}; {completed.Spread()}; {metrics.Describe()})");
        }
        finally
        {
            await StopAsync(hosts).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// With JOBKEEPER_BENCH_EXPLAIN=<c>rate</c> (0 to 1), the drain's connections log that share of their statements' plans with
    /// <c>EXPLAIN (ANALYZE, BUFFERS, WAL)</c> figures to the server's log (auto_explain, at WARNING so the throwaway server's log
    /// keeps them): the claim and completion statements exactly as the store sends them, with their real parameters.
    /// </summary>
    private static async Task ExplainSampleAsync(string database)
    {
        if (Environment.GetEnvironmentVariable("JOBKEEPER_BENCH_EXPLAIN") is not { Length: > 0 } rate)
        {
            return;
        }

        var sampleRate = double.Parse(rate, System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var name = new Npgsql.NpgsqlConnectionStringBuilder(database).Database;
        foreach (var setting in new[]
        {
            "session_preload_libraries = 'auto_explain'", "auto_explain.log_min_duration = 0", "auto_explain.log_analyze = on",
            "auto_explain.log_buffers = on", "auto_explain.log_wal = on", "auto_explain.log_level = 'warning'",
            $"auto_explain.sample_rate = {sampleRate}",
        })
        {
            await PostgresBench.ExecuteAsync(PostgresBench.Server, $"ALTER DATABASE {name} SET {setting}").ConfigureAwait(false);
        }

        Npgsql.NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Milliseconds from just before a create on the first instance to a handler starting on any instance, sorted.</summary>
    private static async Task<double[]> PickupAsync(int samples, int instances)
    {
        var database = await PostgresBench.FreshDatabaseAsync("bench_pickup").ConfigureAwait(false);
        var current = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var hosts = new List<JobkeeperHost>();
        for (var i = 0; i < instances; i++)
        {
            hosts.Add(await JobkeeperHost.StartAsync("", o =>
            {
                o.UsePostgres(database);
                o.Workers.WorkerId = $"instance-{hosts.Count}";
                o.Workers.PollInterval = TimeSpan.FromMinutes(1);
            }, handlers: b => b.AddHandler(NoOp, (_, _) =>
            {
                Volatile.Read(ref current).TrySetResult(Stopwatch.GetTimestamp());
                return Task.CompletedTask;
            })).ConfigureAwait(false));
        }

        try
        {
            var latencies = new double[samples];
            for (var i = -50; i < samples; i++)
            {
                var signal = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref current, signal);
                var before = Stopwatch.GetTimestamp();
                await hosts[0].Manager.CreateAsync(new NewJob { Type = NoOp }).ConfigureAwait(false);
                var handlerStarted = await signal.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
                if (i >= 0)
                {
                    latencies[i] = Stopwatch.GetElapsedTime(before, handlerStarted).TotalMilliseconds;
                }

                // Let the completion commit before the next sample, so each sample starts from idle workers.
                await Task.Delay(2).ConfigureAwait(false);
            }

            Array.Sort(latencies);
            return latencies;
        }
        finally
        {
            await StopAsync(hosts).ConfigureAwait(false);
        }
    }

    /// <summary>Claim and list cost with 0, 100,000 and 1,000,000 finished jobs in the table (bulk-inserted between steps).</summary>
    private static async Task ScaleAsync(Report report)
    {
        report.Line("### Claim and list cost as finished jobs accumulate");
        report.Line();
        report.Line("Each step adds completed jobs (each with a label) with one bulk INSERT and runs ANALYZE; then, on one instance, 600 jobs are queued");
        report.Line("and after a warm-up of 100 of each it times 500 single-job claims (each a transaction with its commit), 500 first pages of the");
        report.Line("50 newest jobs, 500 first pages filtered by status=queued and 500 pages filtered by a label the queued jobs share. Mean per call.");
        report.Line();
        report.Line("| finished jobs in the table | claim, ms each | list newest 50, ms | list status=queued, ms | list label, ms |");
        report.Line("| ---: | ---: | ---: | ---: | ---: |");
        var database = await PostgresBench.FreshDatabaseAsync("bench_scale").ConfigureAwait(false);
        var present = 0L;
        foreach (var target in new[] { 0L, 100_000L, 1_000_000L })
        {
            if (target > present)
            {
                await using (var migrate = await JobkeeperHost.StartAsync("", o => o.UsePostgres(database)).ConfigureAwait(false))
                {
                }

                await PostgresBench.ExecuteAsync(database, $"""
                    INSERT INTO jobs (id, type, status, priority, attempt, max_attempts, created_us, updated_us, started_us, completed_us, run_at_us, version, result)
                    SELECT 'done-' || lpad(g::text, 8, '0'), 'bench.noop', 'completed', 0, 1, 3, 1700000000000000 + g, 1700000000000000 + g,
                           1700000000000000 + g, 1700000000000000 + g, 1700000000000000 + g, 3, '[true]'
                    FROM generate_series({present + 1}, {target}) g;
                    INSERT INTO job_labels (job_id, key, value, created_us)
                    SELECT 'done-' || lpad(g::text, 8, '0'), 'batch', (g % 1000)::text, 1700000000000000 + g FROM generate_series({present + 1}, {target}) g;
                    ANALYZE;
                    """).ConfigureAwait(false);
                present = target;
            }

            await using var host = await JobkeeperHost.StartAsync("", o => o.UsePostgres(database)).ConfigureAwait(false);
            var queue = host.Services.GetRequiredService<Jobkeeper.Workers.WorkQueue>();
            for (var i = 0; i < 600; i++)
            {
                await host.Manager.CreateAsync(new NewJob { Type = "bench.scale", Labels = new Dictionary<string, string> { ["batch"] = "7" } }).ConfigureAwait(false);
            }

            // Warm-up (JIT, prepared statements, pool), not counted.
            await TimeAsync(100, () => queue.ClaimAsync("scale", new Dictionary<string, int> { ["bench.scale"] = 1 }, 1, TimeSpan.FromMinutes(5))).ConfigureAwait(false);
            await TimeAsync(100, () => host.Manager.ListAsync(new JobQuery { Limit = 50, Statuses = [JobStatus.Queued] })).ConfigureAwait(false);
            await TimeAsync(100, () => host.Manager.ListAsync(new JobQuery { Limit = 50, Labels = [new("batch", "7")] })).ConfigureAwait(false);
            var claim = await TimeAsync(500, () => queue.ClaimAsync("scale", new Dictionary<string, int> { ["bench.scale"] = 1 }, 1, TimeSpan.FromMinutes(5))).ConfigureAwait(false);
            var newest = await TimeAsync(500, () => host.Manager.ListAsync(new JobQuery { Limit = 50 })).ConfigureAwait(false);
            var queued = await TimeAsync(500, () => host.Manager.ListAsync(new JobQuery { Limit = 50, Statuses = [JobStatus.Queued] })).ConfigureAwait(false);
            var label = await TimeAsync(500, () => host.Manager.ListAsync(new JobQuery { Limit = 50, Labels = [new("batch", "7")] })).ConfigureAwait(false);
            report.Line($"| {present:N0} | {Stats.F(claim, 3)} | {Stats.F(newest, 3)} | {Stats.F(queued, 3)} | {Stats.F(label, 3)} |");
        }
    }

    private static async Task<double> TimeAsync<T>(int times, Func<Task<T>> action)
    {
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < times; i++)
        {
            await action().ConfigureAwait(false);
        }

        return Stopwatch.GetElapsedTime(started).TotalMilliseconds / times;
    }

    private static async Task ProduceAsync(IReadOnlyList<JobkeeperHost> hosts, int jobs, int producers)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var host = hosts[p % hosts.Count];
            while (Interlocked.Increment(ref next) < jobs)
            {
                await host.Manager.CreateAsync(new NewJob { Type = NoOp }).ConfigureAwait(false);
            }
        }))).ConfigureAwait(false);
    }

    private static async Task<List<JobkeeperHost>> StartAsync(string database, int instances, int concurrency, CompletionCounter? counter, int limit = 0)
    {
        var hosts = new List<JobkeeperHost>();
        for (var i = 0; i < instances; i++)
        {
            var name = $"instance-{i}";
            var index = i;
            hosts.Add(await JobkeeperHost.StartAsync("", o =>
                {
                    o.UsePostgres(database);
                    o.Workers.WorkerId = name;
                    o.Workers.MaxConcurrency = Math.Max(1, concurrency);
                    if (limit > 0)
                    {
                        o.Queues["default"] = new QueueOptions { ConcurrencyLimit = limit };
                    }
                },
                handlers: concurrency > 0 ? b => b.AddHandler(NoOp, (_, _) =>
                {
                    if (counter is not null)
                    {
                        Interlocked.Increment(ref counter.Runs[index]);
                    }

                    return Task.CompletedTask;
                }) : null,
                services: counter is null ? null : s => s.AddSingleton<IJobStoreObserver>(counter)).ConfigureAwait(false));
        }

        return hosts;
    }

    private static async Task StopAsync(IEnumerable<JobkeeperHost> hosts)
    {
        foreach (var host in hosts)
        {
            await host.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Counts distinct jobs seen completed by any instance (each instance also hears of the others' commits).</summary>
    private sealed class CompletionCounter(int target) : IJobStoreObserver
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentDictionary<string, string> _completed = new(StringComparer.Ordinal);
        private int _count;

        public Task Done => _done.Task;

        public void JobsCommitted(IReadOnlyList<CommittedChange> changes)
        {
            foreach (var change in changes)
            {
                // Counted apart: ConcurrentDictionary.Count takes every lock of the dictionary, on the writer's thread.
                if (change.Job is { Status: JobStatus.Completed } job && _completed.TryAdd(job.Id, job.Id))
                {
                    var count = Interlocked.Increment(ref _count);
                    if (count == 1)
                    {
                        FirstAt = Stopwatch.GetTimestamp();
                    }

                    if (count == target)
                    {
                        _done.TrySetResult();
                    }
                }
            }
        }

        /// <summary>When the first job completed (<see cref="Stopwatch"/> ticks): what came before is start-up.</summary>
        public long FirstAt { get; private set; }

        /// <summary>Handler runs per instance.</summary>
        public int[] Runs { get; } = new int[8];

        public string Spread() => "handler runs by instance: " + string.Join(" / ", Runs.TakeWhile(r => r > 0));
    }
}
