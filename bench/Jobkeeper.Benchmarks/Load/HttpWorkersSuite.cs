using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Jobkeeper.Benchmarks.Harness;

namespace Jobkeeper.Benchmarks.Load;

/// <summary>
/// The external-worker protocol over loopback HTTP: a real <c>jobkeeper serve</c> process with a queue of
/// no-op jobs, drained by HTTP workers in this process that claim in batches (long-poll) and complete each
/// job with its lease token. Client and server share the machine's cores, as they would on one box.
/// </summary>
public static class HttpWorkersSuite
{
    private const string Type = "bench.http-noop";

    public static async Task RunAsync(Report report, string serverDll, int rounds, int jobs, int workers, int batch, int port)
    {
        report.Line($"`jobkeeper serve` on 127.0.0.1:{port}, fresh database per measurement; {jobs:N0} queued no-op jobs; {workers} HTTP workers, " +
            $"claim batch {batch}, each job completed with its own POST (up to {batch} in flight per worker).");
        report.Line();
        var results = new List<double>();
        for (var round = 0; round <= rounds; round++)
        {
            var m = await MeasureAsync(serverDll, jobs, workers, batch, port).ConfigureAwait(false);
            report.Line($"- {(round == 0 ? "warm-up (not counted)" : $"round {round}")}: **{Stats.F(m.PerSecond, 0)} jobs/s** {m.Detail}");
            if (round > 0)
            {
                results.Add(m.PerSecond);
            }
        }

        report.Line();
        report.Line($"Median of {rounds} rounds: **{Stats.F(Stats.Median(results), 0)} jobs/s** (min {Stats.F(results.Min(), 0)}, max {Stats.F(results.Max(), 0)})");
    }

    private static async Task<(double PerSecond, string Detail)> MeasureAsync(string serverDll, int jobs, int workers, int batch, int port)
    {
        var directory = Path.Combine(BenchPaths.Data, "http-workers");
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Directory.CreateDirectory(directory);
        using var server = StartServer(serverDll, directory, port);
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, UseProxy = false })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}/api/v1/"),
                Timeout = TimeSpan.FromSeconds(60),
            };
            await WaitUntilUpAsync(http).ConfigureAwait(false);
            await FillAsync(http, jobs).ConfigureAwait(false);

            var done = 0;
            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, workers).Select(w => WorkAsync(http, $"bench-{w}", batch, () => Volatile.Read(ref done) >= jobs,
                () => Interlocked.Increment(ref done)))).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            return (jobs / elapsed.TotalSeconds, $"({Stats.F(elapsed.TotalSeconds, 2)} s)");
        }
        finally
        {
            Stop(server);
        }
    }

    private static async Task WorkAsync(HttpClient http, string worker, int batch, Func<bool> finished, Action completed)
    {
        while (!finished())
        {
            using var response = await http.PostAsJsonAsync("workers/claim",
                new { worker_id = worker, types = new[] { Type }, max = batch, lease_seconds = 60, wait_seconds = 0.2 }).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            using var body = JsonDocument.Parse(await response.Content.ReadAsStreamAsync().ConfigureAwait(false));
            var claimed = body.RootElement.GetProperty("jobs").EnumerateArray()
                .Select(j => (Id: j.GetProperty("id").GetString()!, Token: j.GetProperty("lease_token").GetString()!))
                .ToArray();
            await Task.WhenAll(claimed.Select(async job =>
            {
                using var done = await http.PostAsJsonAsync($"jobs/{job.Id}/complete", new { lease_token = job.Token }).ConfigureAwait(false);
                done.EnsureSuccessStatusCode();
                completed();
            })).ConfigureAwait(false);
        }
    }

    private static async Task FillAsync(HttpClient http, int jobs)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < jobs)
            {
                using var response = await http.PostAsJsonAsync("jobs", new { type = Type }).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
            }
        }))).ConfigureAwait(false);
    }

    private static Process StartServer(string serverDll, string directory, int port)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { serverDll, "serve", "--urls", $"http://127.0.0.1:{port}", "--db", Path.Combine(directory, "jobkeeper.db") })
        {
            start.ArgumentList.Add(arg);
        }

        // Keep request logging out of the measurement.
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitUntilUpAsync(HttpClient http)
    {
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 30);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("/health").ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (Stopwatch.GetTimestamp() < deadline)
            {
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException("The server did not come up within 30 s.");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    private static void Stop(Process server)
    {
        if (!server.HasExited)
        {
            server.Kill(entireProcessTree: true);
            server.WaitForExit(10_000);
        }
    }
}
