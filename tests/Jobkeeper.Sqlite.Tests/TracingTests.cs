using System.Collections.Concurrent;
using System.Diagnostics;
using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// The spans of the "Jobkeeper" source, caught with an <see cref="ActivityListener"/>: a job created inside a trace keeps that
/// context (also across a restart), and its claim, its run, the handler's calls, the lease renewals and its outcome are spans of
/// that trace, each the child of the one it belongs to.
/// </summary>
public sealed class TracingTests : IDisposable
{
    private const string TestSourceName = "Jobkeeper.Tests.Tracing";
    private static readonly ActivitySource Test = new(TestSourceName);
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    /// <summary>Every span of the Jobkeeper source and of this test that stops while it listens.</summary>
    private sealed class Spans : IDisposable
    {
        private readonly ConcurrentQueue<Activity> _stopped = new();
        private readonly ActivityListener _listener;

        public Spans()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name is JobkeeperTelemetry.ActivitySourceName or TestSourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        /// <summary>The stopped spans about job <paramref name="id"/>.</summary>
        public IReadOnlyList<Activity> Of(string id) => [.. _stopped.Where(a => (string?)a.GetTagItem("jobkeeper.job.id") == id)];

        public Activity One(string id, string name) => Assert.Single(Of(id), a => a.OperationName == name);

        public string Describe(string id) => string.Join(", ", Of(id).Select(a => $"{a.OperationName} {a.SpanId}<-{a.ParentSpanId}"));

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task An_in_process_job_is_one_trace_from_its_creation_to_its_end()
    {
        using var spans = new Spans();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await WorkerHost.StartAsync(_database.Path,
            handlers: b => b.AddHandler("traced", async (context, cancellationToken) =>
            {
                await context.ReportProgressAsync(0.5, "halfway", cancellationToken: cancellationToken);
                started.TrySetResult();
                await finish.Task.WaitAsync(cancellationToken);
                return "done";
            }),
            workers: w => w.LeaseDuration = TimeSpan.FromSeconds(30));
        var heartbeat = host.Options.Workers.LeaseDuration / 3;
        await host.Time.WaitForPeriodicTimerAsync(heartbeat);

        Job job;
        ActivityContext request;
        using (var root = Test.StartActivity("test.request"))
        {
            request = root!.Context;
            job = await host.CreateAsync("traced");
        }

        await Poll.Within(started.Task, "the handler to start");
        // One heartbeat period of the clock: the engine renews the lease of the running job.
        host.Time.Advance(heartbeat);
        await Poll.UntilAsync(() => spans.Of(job.Id).Any(a => a.OperationName == "jobkeeper.job.heartbeat"), "a heartbeat span", () => spans.Describe(job.Id));
        finish.SetResult();
        await host.WaitForStatusAsync(job.Id, JobStatus.Completed);
        await Poll.UntilAsync(() => spans.Of(job.Id).Any(a => a.OperationName == "jobkeeper.job.run"), "the run span to end", () => spans.Describe(job.Id));

        var create = spans.One(job.Id, "jobkeeper.job.create");
        Assert.Equal($"00-{request.TraceId}-{create.SpanId}-01", job.Traceparent);
        Assert.All(spans.Of(job.Id), a => Assert.Equal(request.TraceId, a.TraceId));
        Assert.Equal(request.SpanId, create.ParentSpanId);
        var run = spans.One(job.Id, "jobkeeper.job.run");
        Assert.Equal(create.SpanId, spans.One(job.Id, "jobkeeper.job.claim").ParentSpanId);
        Assert.Equal(create.SpanId, run.ParentSpanId);
        Assert.Equal(run.SpanId, spans.One(job.Id, "jobkeeper.job.progress").ParentSpanId);
        Assert.Equal(run.SpanId, spans.One(job.Id, "jobkeeper.job.heartbeat").ParentSpanId);
        var complete = spans.One(job.Id, "jobkeeper.job.complete");
        Assert.Equal(run.SpanId, complete.ParentSpanId);
        Assert.Equal("completed", complete.GetTagItem("jobkeeper.job.status"));
    }

    [Fact]
    public async Task The_trace_context_is_stored_with_the_job_and_outside_a_trace_there_is_none()
    {
        var traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        string traced;
        string untraced;
        await using (var host = await ManagerHost.StartAsync(_database.Path))
        {
            using (var caller = new Activity("caller").SetParentId(traceparent).Start())
            {
                traced = (await host.Manager.CreateAsync(new NewJob { Type = "t" })).Id;
            }

            untraced = (await host.Manager.CreateAsync(new NewJob { Type = "t" })).Id;
        }

        await using var reopened = await ManagerHost.StartAsync(_database.Path);
        var stored = (await reopened.Manager.GetAsync(traced))!.Traceparent;
        Assert.StartsWith("00-0af7651916cd43dd8448eb211c80319c-", stored);
        Assert.Equal(ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c"), JobTrace.ParentOf(stored).TraceId);
        Assert.Null((await reopened.Manager.GetAsync(untraced))!.Traceparent);
    }
}
