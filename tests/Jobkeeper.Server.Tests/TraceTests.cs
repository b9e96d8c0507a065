using System.Collections.Concurrent;
using System.Diagnostics;
using Jobkeeper.Client;
using Jobkeeper.Model;
using Jobkeeper.Server.Tests.Infrastructure;
using Jobkeeper.Telemetry;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// The trace test: a real <c>jobkeeper serve</c> process exporting its spans over OTLP (http/protobuf) to a collector in this
/// test, and the .NET client's worker loop in this process, whose spans (and HttpClient's) an <see cref="ActivityListener"/>
/// catches. One trace id runs from the request that creates the job through the worker's complete, with parent-child links
/// across both processes.
/// </summary>
public sealed class TraceTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const string TestSourceName = "Jobkeeper.Server.Tests.Trace";
    private const string AspNetCore = "Microsoft.AspNetCore";
    private static readonly ActivitySource Test = new(TestSourceName);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly OtlpCollector _collector = new();
    private ServerProcess? _server;

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync(environment: new Dictionary<string, string>
    {
        ["JOBKEEPER__OTLP__ENDPOINT"] = _collector.Endpoint,
        ["JOBKEEPER__OTLP__PROTOCOL"] = "http/protobuf",
        // Spans leave the server a tenth of a second after they end rather than every five seconds.
        ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
    });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _collector.Dispose();
    }

    [Fact]
    public async Task One_trace_from_the_create_through_an_http_workers_complete_with_parent_child_links()
    {
        var local = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is TestSourceName or JobkeeperTelemetry.ClientActivitySourceName or "System.Net.Http",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = local.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var http = new HttpClient { BaseAddress = _server!.BaseAddress };
        var client = new JobkeeperClient(http);
        var type = $"traced.{Guid.NewGuid():N}";

        // The request that creates the job, inside a span of this test: HttpClient sends its context as the traceparent header.
        Job job;
        ActivityContext request;
        using (var root = Test.StartActivity("test.create"))
        {
            request = root!.Context;
            job = await client.CreateAsync(new NewJob { Type = type });
        }

        var traceId = request.TraceId.ToHexString();
        Assert.Equal(request.TraceId, JobTrace.ParentOf(job.Traceparent).TraceId);
        Assert.Equal(job.Traceparent, (await client.GetAsync(job.Id))!.Traceparent);

        // An HTTP worker runs it: reports progress, keeps running until its loop has renewed the lease once, then completes.
        using var stop = new CancellationTokenSource();
        var worker = client.RunWorkerAsync([type], async (item, cancellationToken) =>
        {
            Assert.Equal(job.Traceparent, item.Item.Traceparent);
            await item.ReportProgressAsync(0.5, "halfway", cancellationToken: cancellationToken);
            await Api.PollAsync(() => Task.FromResult(local.Any(a => IsCall(a, job.Id, "heartbeat"))), Deadline, () => "the worker loop renewed no lease");
            return new { ok = true };
        }, new WorkerLoopOptions { WorkerId = "trace-worker", LeaseSeconds = 3, WaitSeconds = 1, Concurrency = 1 }, stop.Token);
        await Api.PollAsync(async () => (await client.GetAsync(job.Id))?.Status == JobStatus.Completed, Deadline, () => "the job did not complete");
        await stop.CancelAsync();
        await worker;

        // The server's spans arrive in batches: wait until the complete is there and no span of the trace misses its parent.
        List<Span> trace = [];
        await Api.PollAsync(() =>
        {
            trace = Trace(traceId, local);
            var ids = trace.Select(s => s.Id).ToHashSet();
            return Task.FromResult(trace.Any(s => s.Name == "jobkeeper.job.complete") && trace.All(s => s.Id == request.SpanId.ToHexString() || ids.Contains(s.Parent)));
        }, Deadline, () => Describe(traceId, local));

        output.WriteLine($"trace {traceId}, job {job.Id} (traceparent {job.Traceparent}): " + Tree(trace, request.SpanId.ToHexString()));

        // One trace id: every span about the job, on both sides, is in the trace of the create request.
        Assert.All(_collector.Spans.Where(s => s.Attribute("jobkeeper.job.id") == job.Id), s => Assert.Equal(traceId, s.TraceId));
        Assert.All(local.Where(a => (string?)a.GetTagItem("jobkeeper.job.id") == job.Id), a => Assert.Equal(traceId, a.TraceId.ToHexString()));

        // The links: test → HTTP POST → server request → create; the claim and the worker's run are children of the create; each call
        // of the worker (progress, heartbeat, complete) goes run → HTTP POST → server request → the Jobkeeper span of that call.
        Span One(string name) => Assert.Single(trace, s => s.Name == name && s.JobId == job.Id);
        Span Parent(Span span) => Assert.Single(trace, s => s.Id == span.Parent);
        var create = One("jobkeeper.job.create");
        var createRequest = Parent(create);
        Assert.Equal(AspNetCore, createRequest.Scope);
        Assert.Equal(request.SpanId.ToHexString(), Parent(createRequest).Parent);
        Assert.Equal(create.Id, One("jobkeeper.job.claim").Parent);
        var run = One("jobkeeper.worker.run");
        Assert.Equal(create.Id, run.Parent);
        foreach (var call in new[] { "progress", "heartbeat", "complete" })
        {
            var served = trace.First(s => s.Name == "jobkeeper.job." + call && s.JobId == job.Id);
            var serverRequest = Parent(served);
            Assert.Equal(AspNetCore, serverRequest.Scope);
            var clientRequest = Parent(serverRequest);
            Assert.Equal("System.Net.Http", clientRequest.Scope);
            Assert.Equal(run.Id, clientRequest.Parent);
        }
    }

    [Fact]
    public async Task The_python_worker_sends_the_work_items_traceparent_so_its_calls_join_the_jobs_trace()
    {
        var caller = $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01";
        using var create = new HttpRequestMessage(HttpMethod.Post, "api/v1/jobs")
        {
            Content = Api.Json("""{"type":"demo.wordcount","input":{"text":"one two three","steps":3}}"""),
        };
        create.Headers.Add("traceparent", caller);
        var job = await Api.ExpectJsonAsync(await _server!.Client.SendAsync(create), System.Net.HttpStatusCode.Created);
        var (id, traceparent) = (job.Str("id"), job.Str("traceparent"));
        var traceId = JobTrace.ParentOf(caller).TraceId.ToHexString();
        Assert.Equal(traceId, JobTrace.ParentOf(traceparent).TraceId.ToHexString());

        await using (var worker = PythonWorkerProcess.Start(["--url", _server.BaseAddress.ToString().TrimEnd('/'), "--types", "demo.wordcount",
            "--worker-id", "py-traced", "--wait-seconds", "1", "--exit-when-idle", "--demo-step-seconds", "0"]))
        {
            Assert.Equal(0, await worker.WaitForExitAsync(Deadline));
        }

        Assert.Equal("completed", (await _server.Client.GetJobAsync(id)).Str("status"));
        IReadOnlyList<ExportedSpan> spans = [];
        await Api.PollAsync(() =>
        {
            spans = _collector.Spans;
            var complete = spans.FirstOrDefault(s => s.Name == "jobkeeper.job.complete" && s.Attribute("jobkeeper.job.id") == id);
            return Task.FromResult(complete is not null && spans.Any(s => s.SpanId == complete.ParentSpanId));
        }, Deadline, () => "no complete span with its request: " + string.Join("; ", _collector.Spans.Select(s => $"{s.Name} {s.TraceId}")));

        // The worker sent the work item's traceparent as it is: each call's request span is a child of the span that created the job.
        var createSpanId = JobTrace.ParentOf(traceparent).SpanId.ToHexString();
        foreach (var call in new[] { "progress", "complete" })
        {
            var served = spans.First(s => s.Name == "jobkeeper.job." + call && s.Attribute("jobkeeper.job.id") == id);
            Assert.Equal(traceId, served.TraceId);
            var request = Assert.Single(spans, s => s.SpanId == served.ParentSpanId);
            Assert.Equal((AspNetCore, createSpanId), (request.Scope, request.ParentSpanId));
        }
    }

    /// <summary>A span of either process, ids as lowercase hex.</summary>
    private sealed record Span(string Id, string Parent, string Name, string Scope, string? JobId);

    private List<Span> Trace(string traceId, IEnumerable<Activity> local) =>
    [
        .. _collector.Spans.Where(s => s.TraceId == traceId).Select(s => new Span(s.SpanId, s.ParentSpanId, s.Name, s.Scope, s.Attribute("jobkeeper.job.id"))),
        .. local.Where(a => a.TraceId.ToHexString() == traceId).Select(a => new Span(a.SpanId.ToHexString(),
            a.ParentSpanId == default ? "" : a.ParentSpanId.ToHexString(), a.OperationName, a.Source.Name, (string?)a.GetTagItem("jobkeeper.job.id"))),
    ];

    private string Describe(string traceId, IEnumerable<Activity> local) =>
        $"spans of trace {traceId}: " + string.Join("; ", Trace(traceId, local).Select(s => $"{s.Scope} {s.Name} {s.Id}<-{s.Parent}")) + "\n" + _server!.Output;

    /// <summary>The trace as an indented tree, children in the order they arrived.</summary>
    private static string Tree(List<Span> trace, string rootId)
    {
        var text = new System.Text.StringBuilder($"{trace.Count} spans\n");
        void Add(string id, int depth)
        {
            foreach (var child in trace.Where(s => s.Parent == id))
            {
                text.Append(' ', depth * 2).Append($"{child.Name} [{child.Scope}] {child.Id}").AppendLine();
                Add(child.Id, depth + 1);
            }
        }

        text.AppendLine($"test.create [{TestSourceName}] {rootId}");
        Add(rootId, 1);
        return text.ToString();
    }

    /// <summary>A client HTTP span of <paramref name="action"/> on job <paramref name="id"/>.</summary>
    private static bool IsCall(Activity activity, string id, string action) =>
        activity.Source.Name == "System.Net.Http" && activity.GetTagItem("url.full") is string url && url.EndsWith($"/jobs/{id}/{action}", StringComparison.Ordinal);
}
