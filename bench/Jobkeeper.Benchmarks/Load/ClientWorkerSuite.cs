using System.Diagnostics;
using System.Globalization;
using Jobkeeper.Client;
using Jobkeeper.Model;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// The .NET client's worker loop (<see cref="JobkeeperClient.RunWorkerAsync"/>) on no-op jobs against a running server,
/// measured as bench/sdk-workers.sh measures the Python and TypeScript workers: create the jobs in batches, then run
/// the worker until every one is completed. Prints one line ending in "jobs/s".
/// </summary>
public static class ClientWorkerSuite
{
    private const string Type = "bench.sdk-noop";

    public static async Task<double> RunAsync(Uri url, int jobs, int concurrency, int warmup = 2000)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, UseProxy = false })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromSeconds(60),
        };
        var client = new JobkeeperClient(http);
        // A warm-up drain first (not timed), as the Python and TypeScript benchmarks do: JIT and connections are warm.
        await DrainAsync(client, warmup, concurrency, warmup).ConfigureAwait(false);
        var seconds = await DrainAsync(client, jobs, concurrency, warmup + jobs).ConfigureAwait(false);
        var perSecond = jobs / seconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dotnet client worker: {jobs} jobs in {seconds:F2} s, concurrency {concurrency}: {perSecond:F0} jobs/s"));
        return perSecond;
    }

    /// <summary>Creates <paramref name="jobs"/> jobs, then runs the worker until the server counts <paramref name="completedAtEnd"/> completed.</summary>
    private static async Task<double> DrainAsync(JobkeeperClient client, int jobs, int concurrency, int completedAtEnd)
    {
        for (var created = 0; created < jobs; created += 1000)
        {
            var batch = Enumerable.Range(0, Math.Min(1000, jobs - created)).Select(_ => new NewJob { Type = Type }).ToList();
            await client.CreateManyAsync(batch).ConfigureAwait(false);
        }

        var done = 0;
        using var stop = new CancellationTokenSource();
        var started = Stopwatch.GetTimestamp();
        var worker = client.RunWorkerAsync([Type], (_, _) =>
        {
            if (Interlocked.Increment(ref done) >= jobs)
            {
                stop.Cancel();
            }

            return Task.FromResult<object?>(null);
        }, new WorkerLoopOptions { WorkerId = "bench-dotnet", Concurrency = concurrency, WaitSeconds = 1 }, stop.Token);
        try
        {
            await worker.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        // The handler counted the last job before its complete was sent: wait for the server to have them all.
        while ((await client.GetHealthAsync().ConfigureAwait(false)).GetProperty("jobs_by_status").GetProperty("completed").GetInt64() < completedAtEnd)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }

        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }
}
