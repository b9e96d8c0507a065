using System.Diagnostics;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// In-process workers end to end on SQLite: no-op jobs from enqueue to <c>completed</c> (producers and the
/// engine running at once), draining a pre-filled queue, and pickup latency (enqueue → handler start) at
/// light load, one job at a time. Fresh database per measurement; one warm-up round not counted; medians.
/// </summary>
public static class WorkersSuite
{
    private const string NoOp = "bench.noop";

    public static async Task RunAsync(Report report, int rounds, int jobs, int concurrency)
    {
        var endToEnd = new List<double>();
        var drain = new List<double>();
        var pickups = new List<double[]>();
        report.Line($"No-op handler; {jobs:N0} jobs per throughput measurement; Workers.MaxConcurrency = {concurrency}; SQLite durability normal; fresh database each.");
        report.Line();
        for (var round = 0; round <= rounds; round++)
        {
            report.Line(round == 0 ? "### Warm-up round (not counted)" : $"### Round {round}");
            var e2e = await EndToEndAsync(jobs, producers: 64, concurrency).ConfigureAwait(false);
            report.Line($"- enqueue → handler → completed, 64 producers: **{Stats.F(e2e.PerSecond, 0)} jobs/s** {e2e.Detail}");
            var d = await DrainAsync(jobs, concurrency).ConfigureAwait(false);
            report.Line($"- drain a queue of {jobs:N0}: **{Stats.F(d.PerSecond, 0)} jobs/s** {d.Detail}");
            var p = await PickupAsync(samples: 1000).ConfigureAwait(false);
            report.Line($"- pickup latency, one job at a time: p50 **{Stats.F(Stats.Percentile(p, 0.5), 3)} ms**, p99 {Stats.F(Stats.Percentile(p, 0.99), 3)} ms, max {Stats.F(p[^1], 3)} ms");
            if (round > 0)
            {
                endToEnd.Add(e2e.PerSecond);
                drain.Add(d.PerSecond);
                pickups.Add(p);
            }

            report.Line();
        }

        report.Line($"### Medians of {rounds} rounds");
        report.Line();
        report.Line("| measurement | median | min | max |");
        report.Line("| --- | ---: | ---: | ---: |");
        report.Line($"| enqueue → completed, jobs/s | {Stats.F(Stats.Median(endToEnd), 0)} | {Stats.F(endToEnd.Min(), 0)} | {Stats.F(endToEnd.Max(), 0)} |");
        report.Line($"| drain, jobs/s | {Stats.F(Stats.Median(drain), 0)} | {Stats.F(drain.Min(), 0)} | {Stats.F(drain.Max(), 0)} |");
        var p50 = pickups.Select(p => Stats.Percentile(p, 0.5)).ToArray();
        var p99 = pickups.Select(p => Stats.Percentile(p, 0.99)).ToArray();
        report.Line($"| pickup p50, ms | {Stats.F(Stats.Median(p50), 3)} | {Stats.F(p50.Min(), 3)} | {Stats.F(p50.Max(), 3)} |");
        report.Line($"| pickup p99, ms | {Stats.F(Stats.Median(p99), 3)} | {Stats.F(p99.Min(), 3)} | {Stats.F(p99.Max(), 3)} |");
    }

    private static async Task<(double PerSecond, string Detail)> EndToEndAsync(int jobs, int producers, int concurrency)
    {
        var path = FreshDatabase("workers-e2e.db");
        var completed = new CompletionCounter(jobs);
        await using var host = await StartAsync(path, concurrency, completed).ConfigureAwait(false);
        using var metrics = new CommitMetrics();
        var started = Stopwatch.GetTimestamp();
        var next = -1;
        var tasks = Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < jobs)
            {
                await host.Manager.CreateAsync(new NewJob { Type = NoOp }).ConfigureAwait(false);
            }
        })).ToArray();
        await Task.WhenAll(tasks).ConfigureAwait(false);
        var enqueued = Stopwatch.GetElapsedTime(started);
        await completed.Done.WaitAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return (jobs / elapsed.TotalSeconds,
            $"(all enqueued after {Stats.F(enqueued.TotalSeconds, 2)} s, all completed after {Stats.F(elapsed.TotalSeconds, 2)} s; {metrics.Describe()})");
    }

    private static async Task<(double PerSecond, string Detail)> DrainAsync(int jobs, int concurrency)
    {
        var path = FreshDatabase("workers-drain.db");
        await using (var filler = await JobkeeperHost.StartAsync(path).ConfigureAwait(false))
        {
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) < jobs)
                {
                    await filler.Manager.CreateAsync(new NewJob { Type = NoOp }).ConfigureAwait(false);
                }
            }))).ConfigureAwait(false);
        }

        var completed = new CompletionCounter(jobs);
        var started = Stopwatch.GetTimestamp();
        await using var host = await StartAsync(path, concurrency, completed).ConfigureAwait(false);
        using var metrics = new CommitMetrics();
        await completed.Done.WaitAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return (jobs / elapsed.TotalSeconds, $"({Stats.F(elapsed.TotalSeconds, 2)} s including start-up; {metrics.Describe()})");
    }

    /// <summary>Milliseconds from just before <c>CreateAsync</c> to the handler starting, sorted.</summary>
    private static async Task<double[]> PickupAsync(int samples)
    {
        var path = FreshDatabase("workers-pickup.db");
        var startedAt = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var current = startedAt;
        await using var host = await JobkeeperHost.StartAsync(path, o => o.Workers.PollInterval = TimeSpan.FromMinutes(1),
            handlers: b => b.AddHandler(NoOp, (_, _) =>
            {
                Volatile.Read(ref current).TrySetResult(Stopwatch.GetTimestamp());
                return Task.CompletedTask;
            })).ConfigureAwait(false);
        var latencies = new double[samples];
        for (var i = -50; i < samples; i++)
        {
            var signal = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref current, signal);
            var before = Stopwatch.GetTimestamp();
            await host.Manager.CreateAsync(new NewJob { Type = NoOp }).ConfigureAwait(false);
            var handlerStarted = await signal.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            if (i >= 0)
            {
                latencies[i] = Stopwatch.GetElapsedTime(before, handlerStarted).TotalMilliseconds;
            }
        }

        Array.Sort(latencies);
        return latencies;
    }

    private static Task<JobkeeperHost> StartAsync(string path, int concurrency, CompletionCounter completed) =>
        JobkeeperHost.StartAsync(path,
            o => o.Workers.MaxConcurrency = concurrency,
            handlers: b => b.AddHandler(NoOp, (_, _) => Task.CompletedTask),
            services: s => s.AddSingleton<IJobStoreObserver>(completed));

    private static string FreshDatabase(string name)
    {
        var path = BenchPaths.DataFile(name);
        BenchPaths.DeleteDatabase(path);
        return path;
    }

    /// <summary>Counts jobs committed as completed, straight from the store's commits.</summary>
    private sealed class CompletionCounter(int target) : IJobStoreObserver
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public Task Done => _done.Task;

        public void JobsCommitted(IReadOnlyList<CommittedChange> changes)
        {
            foreach (var change in changes)
            {
                if (change.Job is { Status: JobStatus.Completed } && Interlocked.Increment(ref _count) == target)
                {
                    _done.TrySetResult();
                }
            }
        }
    }
}
