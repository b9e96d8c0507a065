using System.Diagnostics;
using System.Text.Json;
using Jobkeeper.Contracts;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Client;

public sealed partial class JobkeeperClient
{
    /// <summary>The source of the worker's spans (the same name as <c>JobkeeperTelemetry.ClientActivitySourceName</c>, which tracing subscribes to).</summary>
    public const string ActivitySourceName = "Jobkeeper.Client";

    private static readonly ActivitySource WorkerSource = new(ActivitySourceName);

    /// <summary>
    /// Runs jobs of <paramref name="types"/> until cancelled — the .NET twin of examples/python-worker: claims by
    /// long poll, renews each lease at a third of its length, stops a handler when the server says the job was
    /// cancelled or the lease was lost, completes with the handler's result or fails with its exception. When the
    /// server is unreachable (a restart) it keeps trying with backoff. Cancelling releases unfinished jobs.
    /// </summary>
    public async Task RunWorkerAsync(IReadOnlyList<string> types, Func<WorkerJob, CancellationToken, Task<object?>> handler, WorkerLoopOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new WorkerLoopOptions();
        var running = new List<Task>();
        var pause = TimeSpan.FromMilliseconds(100);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                running.RemoveAll(t => t.IsCompleted);
                var free = options.Concurrency - running.Count;
                if (free <= 0)
                {
                    await Task.WhenAny(running).WaitAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                IReadOnlyList<WorkItem> claimed;
                try
                {
                    claimed = (await SendAsync(HttpMethod.Post, Api + "workers/claim",
                        new ClaimJobsRequest { WorkerId = options.WorkerId, Types = types.Count > 0 ? types : null, Queues = options.Queues, Max = free, LeaseSeconds = options.LeaseSeconds, WaitSeconds = options.WaitSeconds },
                        JobkeeperJsonContext.Default.ClaimJobsRequest, JobkeeperJsonContext.Default.ClaimResponse, cancellationToken).ConfigureAwait(false)).Jobs;
                    pause = TimeSpan.FromMilliseconds(100);
                }
                catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
                {
                    await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                    pause = TimeSpan.FromMilliseconds(Math.Min(2000, pause.TotalMilliseconds * 2));
                    continue;
                }

                foreach (var item in claimed)
                {
                    running.Add(RunOneAsync(item, handler, options, cancellationToken));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: the jobs still running release their leases below.
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private async Task RunOneAsync(WorkItem item, Func<WorkerJob, CancellationToken, Task<object?>> handler, WorkerLoopOptions options, CancellationToken stopping)
    {
        // The run is a span of the job's trace; the handler and every call about the job (heartbeats, progress, the outcome)
        // run under it, so HttpClient sends its context as their traceparent and the server's spans join the job's trace.
        using var run = StartRun(item);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        using var heartbeats = new CancellationTokenSource();
        var beating = HeartbeatAsync(item, options, attempt, heartbeats.Token);
        object? result = null;
        Exception? failure = null;
        try
        {
            result = await handler(new WorkerJob(item, this, options), attempt.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            await heartbeats.CancelAsync().ConfigureAwait(false);
            await beating.ConfigureAwait(false);
        }

        try
        {
            if (stopping.IsCancellationRequested && failure is OperationCanceledException)
            {
                await SettleAsync(item, "release", new LeaseRequest { LeaseToken = item.LeaseToken }, JobkeeperJsonContext.Default.LeaseRequest).ConfigureAwait(false);
            }
            else if (failure is null)
            {
                var json = result is null ? (JsonElement?)null
                    : result is JsonElement element ? element : JsonSerializer.SerializeToElement(result, result.GetType(), options.SerializerOptions);
                await SettleAsync(item, "complete", new CompleteRequest { LeaseToken = item.LeaseToken, Result = json }, JobkeeperJsonContext.Default.CompleteRequest).ConfigureAwait(false);
            }
            else
            {
                var error = new JobErrorInput
                {
                    Message = failure.Message,
                    Code = "exception",
                    Details = JsonSerializer.SerializeToElement(failure.GetType().FullName ?? "", JobkeeperJsonContext.Default.String),
                };
                await SettleAsync(item, "fail", new FailRequest { LeaseToken = item.LeaseToken, Error = error, Retry = true }, JobkeeperJsonContext.Default.FailRequest).ConfigureAwait(false);
            }
        }
        catch (JobkeeperApiException ex) when (ex.Kind is "lease-lost" or "job-not-found")
        {
            // Someone else owns the job now (it was cancelled, reaped or deleted): drop it.
        }

        if (failure is not null && run is { IsAllDataRequested: true })
        {
            run.SetStatus(ActivityStatusCode.Error, failure.Message);
            run.AddException(failure);
        }
    }

    /// <summary>
    /// The run's span, a child of the work item's <c>traceparent</c>. When nobody records the client's spans it is still started
    /// (unrecorded, as ASP.NET Core does for a request), so the job's context flows to the calls all the same.
    /// </summary>
    private static Activity? StartRun(WorkItem item)
    {
        var parent = item.Traceparent is { } traceparent && ActivityContext.TryParse(traceparent, null, isRemote: true, out var context) ? context : default;
        var run = WorkerSource.StartActivity("jobkeeper.worker.run", ActivityKind.Consumer, parent);
        if (run is null && parent != default)
        {
            run = new Activity("jobkeeper.worker.run").SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags).Start();
        }

        if (run is { IsAllDataRequested: true })
        {
            run.SetTag("jobkeeper.job.id", item.Id);
            run.SetTag("jobkeeper.job.type", item.Type);
            run.SetTag("jobkeeper.job.attempt", item.Attempt);
        }

        return run;
    }

    /// <summary>Renews the lease until the handler ends; stops the handler when the job was cancelled or the lease lost.</summary>
    private async Task HeartbeatAsync(WorkItem item, WorkerLoopOptions options, CancellationTokenSource attempt, CancellationToken stop)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(1, options.LeaseSeconds) / 3.0);
        try
        {
            while (true)
            {
                await Task.Delay(interval, stop).ConfigureAwait(false);
                try
                {
                    var state = await SendAsync(HttpMethod.Post, JobPath(item.Id) + "/heartbeat", new LeaseRequest { LeaseToken = item.LeaseToken, LeaseSeconds = options.LeaseSeconds },
                        JobkeeperJsonContext.Default.LeaseRequest, JobkeeperJsonContext.Default.LeaseResponse, stop).ConfigureAwait(false);
                    if (state.CancelRequested)
                    {
                        await attempt.CancelAsync().ConfigureAwait(false);
                    }
                }
                catch (JobkeeperApiException ex) when (ex.Kind is "lease-lost" or "job-not-found")
                {
                    await attempt.CancelAsync().ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (IsTransient(ex) && !stop.IsCancellationRequested)
                {
                    // The server is away for a moment; the next beat tries again.
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The handler ended.
        }
    }

    internal async Task ReportProgressAsync(WorkItem item, ProgressRequest body, CancellationToken cancellationToken) =>
        await SendAsync(HttpMethod.Post, JobPath(item.Id) + "/progress", body, JobkeeperJsonContext.Default.ProgressRequest, JobkeeperJsonContext.Default.LeaseResponse, cancellationToken)
            .ConfigureAwait(false);

    /// <summary>Completes, fails or releases, trying again while the server is unreachable (for up to a lease).</summary>
    private async Task SettleAsync<T>(WorkItem item, string action, T body, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        var pause = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await SendAsync(HttpMethod.Post, JobPath(item.Id) + "/" + action, body, info, JobkeeperJsonContext.Default.Job, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (IsTransient(ex) && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(pause).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(Math.Min(2000, pause.TotalMilliseconds * 2));
            }
        }
    }

    private static bool IsTransient(Exception ex) =>
        ex is HttpRequestException or IOException or TaskCanceledException { InnerException: TimeoutException }
        || ex is JobkeeperApiException { Status: System.Net.HttpStatusCode.ServiceUnavailable or System.Net.HttpStatusCode.BadGateway };
}
