using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Jobkeeper.Client;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// The client reads text/event-stream as the standard says (it uses the BCL's SseParser): ids kept, multi-line data
/// joined, comments and retry lines skipped; and it resumes after the stream's last id, not only the id in the data.
/// </summary>
public sealed class ClientEventStreamTests
{
    private const string Stream = """
        : a comment before anything
        retry: 3000

        id: 7
        event: created
        data: {"id": 7,
        data:  "job_id": "a",
        data:  "type": "created"}

        : keep-alive

        id: 9
        event: status_changed
        data: {"job_id":"a","type":"status_changed","data":{"from":"queued",
        data: "to":"running"}}


        """;

    [Fact]
    public async Task Ids_multi_line_data_comments_and_retry_lines_are_read_as_the_standard_says()
    {
        using var body = new MemoryStream(Encoding.UTF8.GetBytes(Stream.ReplaceLineEndings("\n")));
        var read = new List<(Model.StreamEvent Event, long? ResumeAfter)>();
        await foreach (var item in JobEventStream.ReadAsync(body, CancellationToken.None))
        {
            read.Add(item);
        }

        Assert.Equal(2, read.Count);
        Assert.Equal((7L, "a", "created", (long?)7), (read[0].Event.Id, read[0].Event.JobId, read[0].Event.Type, read[0].ResumeAfter));
        // The second event's id is only in its id: line; its data spans two lines.
        Assert.Equal(("status_changed", (long?)9), (read[1].Event.Type, read[1].ResumeAfter));
        Assert.Equal("running", read[1].Event.Data!.Value.GetProperty("to").GetString());
    }

    [Fact]
    public async Task A_dropped_stream_is_resumed_after_the_last_id_it_carried()
    {
        var handler = new ScriptedStreams(
            Stream.ReplaceLineEndings("\n"),
            "id: 10\nevent: completed\ndata: {\"job_id\":\"a\",\"type\":\"completed\"}\n\n");
        using var http = new HttpClient(handler) { BaseAddress = new Uri("http://jobkeeper.test/") };
        var client = new JobkeeperClient(http);

        var types = new List<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var e in client.WatchAsync(jobId: "a", lastEventId: 3, cancellationToken: stop.Token))
        {
            types.Add(e.Type);
            if (types.Count == 3)
            {
                break;
            }
        }

        Assert.Equal(["created", "status_changed", "completed"], types);
        Assert.Equal(["3", "9"], handler.LastEventIds.Take(2));
    }

    /// <summary>Answers each GET with the next scripted event stream, which then ends (a dropped connection).</summary>
    private sealed class ScriptedStreams(params string[] bodies) : HttpMessageHandler
    {
        private int _next;

        public ConcurrentQueue<string?> Requests { get; } = new();

        public IEnumerable<string?> LastEventIds => Requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal("/api/v1/jobs/a/stream", request.RequestUri!.AbsolutePath);
            Requests.Enqueue(request.Headers.TryGetValues("Last-Event-ID", out var values) ? values.Single() : null);
            var body = _next < bodies.Length ? bodies[_next++] : "";
            var content = new StringContent(body, Encoding.UTF8);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/event-stream");
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content });
        }
    }
}
