using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Server-Sent Events of the real server over loopback: <c>GET /api/v1/events</c> and <c>GET /api/v1/jobs/{id}/stream</c>.
/// Order per job, resuming with Last-Event-ID without gaps or duplicates, a slow client cut off with
/// <c>overflow</c> without holding up anyone else, filters and bad input. The tests share one server and work
/// on job types of their own; a live stream is known to be subscribed once a probe job's event comes through it.
/// </summary>
public sealed class EventStreamTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    private const string EventsPath = "/api/v1/events";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static string NewType(string what) => $"sse.{what}.{Guid.NewGuid():N}";

    private static string StreamPath(string id) => Api.JobPath(id) + "/stream";

    [Fact]
    public async Task A_job_s_events_arrive_in_order_with_increasing_ids_on_the_all_jobs_stream_and_on_its_own_stream()
    {
        var type = NewType("order");
        var noiseType = NewType("noise");
        await using var all = SseClient.Open(Client, EventsPath);
        await SubscribedAsync(all);

        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","input":{"n":1}}""")).Str("id");
        var createdMessage = (await all.WaitForAsync(m => m.Any(x => x.JobId == id), Wait, "the created event")).First(x => x.JobId == id);
        Assert.Equal("created", createdMessage.Event);

        // Its own stream, resumed from the created event: everything after it, and nothing of other jobs.
        await using var own = SseClient.Open(Client, StreamPath(id), lastEventId: createdMessage.Id);
        var noise = (await Client.CreateJobAsync($$"""{"type":"{{noiseType}}"}""")).Str("id");

        var item = await Client.ClaimOneAsync("w-sse-order", type);
        Assert.Equal(id, item.Str("id"));
        await Client.PatchJobAsync(noise, """{"labels":{"k":"1"}}""");
        await Client.ActionAsync(id, "progress", WorkerApi.LeaseBody(item.Token(), ""","fraction":0.5,"stage":"parse","message":"half" """));
        await Client.PatchJobAsync(noise, """{"labels":{"k":"2"}}""");
        await Client.ActionAsync(id, "complete", WorkerApi.LeaseBody(item.Token(), ""","result":{"ok":true}"""));

        static bool Completed(IReadOnlyList<SseMessage> messages, string job) =>
            messages.Any(m => m.JobId == job && m.Event == "status_changed" && m.Json.GetProperty("data").Str("to") == "completed");

        var seen = (await all.WaitForAsync(m => Completed(m, id) && m.Count(x => x.JobId == noise) >= 3, Wait, "the job completed")).Where(m => m.JobId == id).ToList();
        var history = await Client.EventsAsync(id);

        Assert.Equal(history.Select(e => e.GetProperty("id").GetInt64()), seen.Select(m => m.EventId));
        Assert.Equal(history.Select(e => e.Str("type")), seen.Select(m => m.Event));
        Assert.Equal(history.Select(e => e.Version()), seen.Select(m => m.Json.Version()));
        foreach (var m in seen)
        {
            Assert.Equal(m.Event, m.Json.Str("type"));
            Assert.Equal(m.EventId, m.Json.GetProperty("id").GetInt64());
            Assert.Equal(type, m.Json.Str("job_type"));
        }

        AssertIncreasing(seen);
        for (var i = 1; i < seen.Count; i++)
        {
            Assert.True(seen[i].Json.Version() >= seen[i - 1].Json.Version(), $"version went down: {seen[i - 1]} then {seen[i]}");
        }

        // created (queued), claimed (running), progress with a new stage (stage_changed and updated, one commit), completed.
        Assert.Equal(["created", "status_changed", "stage_changed", "updated", "status_changed"], seen.Select(m => m.Event));
        Assert.Equal("queued", seen[0].Json.Str("job_status"));
        Assert.Equal("running", seen[1].Json.GetProperty("data").Str("to"));
        Assert.Equal("running", seen[1].Json.Str("job_status"));
        Assert.Equal("w-sse-order", seen[1].Json.Str("actor"));
        Assert.Equal("parse", seen.Single(m => m.Event == "stage_changed").Json.GetProperty("data").Str("to"));
        Assert.Equal("running", seen.Single(m => m.Event == "updated").Json.Str("job_status"));
        Assert.Equal("completed", seen[^1].Json.GetProperty("data").Str("to"));
        Assert.Equal("completed", seen[^1].Json.Str("job_status"));
        Assert.True(seen[1].Json.Version() > seen[0].Json.Version() && seen[^1].Json.Version() > seen[^2].Json.Version(),
            $"each status change is a new version: {string.Join(", ", seen)}");

        var ownSeen = await own.WaitForAsync(m => Completed(m, id), Wait, "the job completed on its own stream");
        Assert.All(ownSeen, m => Assert.Equal(id, m.JobId));
        Assert.Equal(seen.Skip(1).Select(m => m.EventId), ownSeen.Select(m => m.EventId));
        Assert.Equal(seen.Skip(1).Select(m => m.Data), ownSeen.Select(m => m.Data));

        // From the start: the whole history of that job only.
        await using var fromStart = SseClient.Open(Client, StreamPath(id), lastEventId: "0");
        var replayed = await fromStart.WaitForAsync(m => Completed(m, id), Wait, "the job's history replayed");
        Assert.All(replayed, m => Assert.Equal(id, m.JobId));
        Assert.Equal(seen.Select(m => m.EventId), replayed.Select(m => m.EventId));
        Assert.Equal(seen.Select(m => m.Event), replayed.Select(m => m.Event));
    }

    [Fact]
    public async Task Reconnecting_with_Last_Event_ID_resumes_without_gaps_or_duplicates_for_several_jobs()
    {
        var type = NewType("resume");
        var first = SseClient.Open(Client, EventsPath);
        List<string> jobs;
        var burst = Task.CompletedTask;
        try
        {
            await SubscribedAsync(first);
            jobs = [];
            for (var i = 0; i < 3; i++)
            {
                jobs.Add((await Client.CreateJobAsync($$"""{"type":"{{type}}","priority":{{3 - i}}}""")).Str("id"));
            }

            await first.WaitForAsync(m => jobs.All(j => m.Any(x => x.JobId == j)), Wait, "the three jobs created");

            // A burst of updates; the connection drops while they are arriving.
            var mark = first.Messages.Count;
            burst = Task.WhenAll(jobs.Select(async j =>
            {
                for (var n = 0; n < 15; n++)
                {
                    await Client.PatchJobAsync(j, $$$"""{"labels":{"n":"{{{n}}}"}}""");
                }
            }));
            await first.WaitForAsync(m => m.Skip(mark).Any(x => jobs.Contains(x.JobId)), Wait, "the first update");
        }
        finally
        {
            await first.DisposeAsync();
        }

        await burst;
        var before = first.Messages;
        var lastRead = before[^1].Id!;

        // While disconnected: more updates, two claimed, one completed, one cancelled.
        await Task.WhenAll(jobs.Select(async j => await Client.PatchJobAsync(j, """{"labels":{"n":"last"}}""")));
        var claimed = await Client.ClaimAsync("w-sse-resume", type, max: 2);
        Assert.Equal(2, claimed.Count);
        await Client.ActionAsync(claimed[0].Str("id"), "progress", WorkerApi.LeaseBody(claimed[0].Token(), ""","stage":"one" """));
        await Client.ActionAsync(claimed[0].Str("id"), "complete", WorkerApi.LeaseBody(claimed[0].Token(), ""","result":1"""));
        var unclaimed = jobs.Single(j => claimed.All(c => c.Str("id") != j));
        await Client.ControlAsync(unclaimed, "cancel");

        await using var second = SseClient.Open(Client, EventsPath, lastEventId: lastRead);

        // And live after the reconnection.
        await Client.ActionAsync(claimed[1].Str("id"), "progress", WorkerApi.LeaseBody(claimed[1].Token(), ""","stage":"two" """));
        await Client.ActionAsync(claimed[1].Str("id"), "complete", WorkerApi.LeaseBody(claimed[1].Token(), ""","result":2"""));

        var histories = new Dictionary<string, List<long>>();
        foreach (var j in jobs)
        {
            histories[j] = [.. (await Client.EventsAsync(j)).Select(e => e.GetProperty("id").GetInt64())];
        }

        var lastId = histories.Values.Max(h => h[^1]);
        var after = await second.WaitForAsync(m => m.Any(x => x.EventId >= lastId), Wait, $"event {lastId}");

        AssertIncreasing(before);
        AssertIncreasing(after);
        Assert.True(after[0].EventId > long.Parse(lastRead, CultureInfo.InvariantCulture), $"resumed at {after[0]} after Last-Event-ID {lastRead}");
        foreach (var j in jobs)
        {
            var union = before.Where(m => m.JobId == j).Concat(after.Where(m => m.JobId == j)).Select(m => m.EventId).ToList();
            Assert.True(histories[j].SequenceEqual(union),
                $"job {j}: stored history [{string.Join(",", histories[j])}] but the streams gave [{string.Join(",", union)}] (before the drop up to {lastRead})");
        }

        Assert.Contains(after, m => m.JobId == unclaimed && m.Event == "status_changed" && m.Json.GetProperty("data").Str("to") == "cancelled");
    }

    [Fact]
    public async Task A_client_that_does_not_read_is_cut_off_with_overflow_and_holds_up_no_one()
    {
        const int Waves = 5;
        const int PerWave = 500;
        var type = NewType("flood");
        var start = await LastEventIdAsync();
        await using var slow = SseClient.OpenUnread(Fixture.Server.BaseAddress, $"{EventsPath}?after={start}");
        await using var fast = SseClient.Open(Client, $"{EventsPath}?after={start}");

        // Few jobs, many large updates (about 8 KB each): far more bytes than the sockets between server and client hold.
        var jobs = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            jobs.Add((await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","input":{"n":{{{i}}}}}""")).Str("id"));
        }

        var padding = new string('x', 8000);
        var clock = Stopwatch.StartNew();
        for (var wave = 1; wave <= Waves; wave++)
        {
            var w = wave;
            await Parallel.ForEachAsync(Enumerable.Range(0, PerWave), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, _) =>
                await Client.PatchJobAsync(jobs[n % jobs.Count], $$$"""{"progress":{"message":"{{{w}}}.{{{n}}} {{{padding}}}"}}"""));

            using (var health = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            using (var response = await Client.GetAsync("/health", health.Token))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            var expected = wave * PerWave;
            await fast.WaitForAsync(m => m.Count(x => x.Event == "updated" && x.Json.Str("job_type") == type) >= expected, Wait,
                $"the fast client had all {expected} updates by wave {wave}");
        }

        var fastSeen = fast.Messages;
        Assert.DoesNotContain(fastSeen, m => m.Event == "overflow");
        var ours = fastSeen.Where(m => m.Json.Str("job_type") == type).ToList();
        Assert.Equal(jobs, ours.Where(m => m.Event == "created").Select(m => m.JobId));
        Assert.Equal(Waves * PerWave, ours.Count(m => m.Event == "updated"));
        AssertIncreasing(fastSeen);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{Waves * PerWave} updates took {clock.Elapsed} to reach the fast client");

        // The slow client now reads: what fit in its buffer (and the sockets), then overflow, then the end.
        slow.StartReading();
        var slowSeen = await slow.WaitForEndAsync(Wait);
        Assert.True(slowSeen.Count > 0 && slowSeen[^1].Event == "overflow",
            $"the slow client's stream should end with overflow; it got {slowSeen.Count} messages ending with {(slowSeen.Count > 0 ? slowSeen[^1] : null)}");
        var events = slowSeen.Take(slowSeen.Count - 1).ToList();
        Assert.DoesNotContain(events, m => m.Event == "overflow");
        Assert.True(events.Count < fastSeen.Count, $"the slow client got {events.Count} events before overflow, as many as the fast one");
        Assert.True(events.Count >= 1024, $"the slow client was cut off after {events.Count} events, before its 1,024-event buffer was full");
        Assert.Equal(fastSeen.Take(events.Count).Select(m => m.EventId), events.Select(m => m.EventId));

        var overflow = slowSeen[^1].Json;
        Assert.Equal("overflow", overflow.Str("type"));
        Assert.Contains("Last-Event-ID", overflow.Str("message"), StringComparison.Ordinal);
        var resumeFrom = overflow.GetProperty("id").GetInt64();
        Assert.Equal(events.Count > 0 ? events[^1].EventId : start, resumeFrom);

        // Resuming where the overflow said gives exactly the rest.
        var lastId = fastSeen[^1].EventId;
        await using var resumed = SseClient.Open(Client, EventsPath, lastEventId: resumeFrom.ToString(CultureInfo.InvariantCulture));
        var rest = await resumed.WaitForAsync(m => m.Any(x => x.EventId >= lastId), Wait, $"event {lastId} after resuming");
        Assert.Equal(fastSeen.Skip(events.Count).Select(m => m.EventId), rest.TakeWhile(m => m.EventId <= lastId).Select(m => m.EventId));
    }

    [Fact]
    public async Task The_type_filter_passes_only_the_listed_job_types()
    {
        var (a, b, c) = (NewType("ta"), NewType("tb"), NewType("tc"));
        var probe = NewType("tprobe");
        await using var stream = SseClient.Open(Client, $"{EventsPath}?type={a},{b}&type={probe}");
        await SubscribedAsync(stream, probe);

        var ids = new List<(string Id, string Type)>();
        foreach (var t in new[] { c, a, c, b, c, a })
        {
            ids.Add(((await Client.CreateJobAsync($$"""{"type":"{{t}}"}""")).Str("id"), t));
        }

        await Client.PatchJobAsync(ids[0].Id, """{"labels":{"x":"1"}}""");
        await Client.PatchJobAsync(ids[1].Id, """{"labels":{"x":"1"}}""");
        var seen = (await stream.WaitForAsync(m => m.Any(x => x.JobId == ids[1].Id && x.Event == "updated"), Wait, "the update of the first job of type a"))
            .Where(m => m.Json.Str("job_type") != probe).ToList();

        Assert.All(seen, m => Assert.Contains(m.Json.Str("job_type"), new[] { a, b }));
        Assert.Equal(ids.Where(x => x.Type != c).Select(x => x.Id).Append(ids[1].Id), seen.Select(m => m.JobId));
        Assert.Equal(["created", "created", "created", "updated"], seen.Select(m => m.Event));
    }

    [Fact]
    public async Task The_status_filter_passes_events_after_which_the_job_has_that_status()
    {
        var type = NewType("status");
        var probe = NewType("sprobe");
        await using var stream = SseClient.Open(Client, $"{EventsPath}?type={type},{probe}&status=running");
        await SubscribedAsync(stream, probe, claim: true);

        var id = (await Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync("w-sse-status", type);
        await Client.ActionAsync(id, "progress", WorkerApi.LeaseBody(item.Token(), ""","stage":"s" """));
        await Client.ActionAsync(id, "complete", WorkerApi.LeaseBody(item.Token(), ""","result":null"""));

        // A later job's running event: everything before it has arrived.
        var sentinel = (await Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");
        await Client.ClaimOneAsync("w-sse-status", type);
        var seen = await stream.WaitForAsync(m => m.Any(x => x.JobId == sentinel), Wait, "the sentinel job running");

        Assert.All(seen, m => Assert.Equal("running", m.Json.Str("job_status")));
        var forJob = seen.Where(m => m.JobId == id).ToList();
        Assert.Equal(["status_changed", "stage_changed", "updated"], forJob.Select(m => m.Event));
        Assert.Equal("running", forJob[0].Json.GetProperty("data").Str("to"));
        var history = await Client.EventsAsync(id);
        Assert.Equal(history.Where(e => e.Str("type") is not "created" && !(e.Str("type") == "status_changed" && e.GetProperty("data").Str("to") == "completed"))
            .Select(e => e.GetProperty("id").GetInt64()), forJob.Select(m => m.EventId));
    }

    [Fact]
    public async Task Replayed_events_carry_the_same_job_status_as_live_ones_and_the_status_filter_applies_alike()
    {
        var type = NewType("replay-status");
        var start = await LastEventIdAsync();
        var probe = NewType("replay-probe");
        await using var live = SseClient.Open(Client, $"{EventsPath}?type={type},{probe}");
        await SubscribedAsync(live, probe);

        var id = (await Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync("w-sse-replay", type);
        await Client.ActionAsync(id, "complete", WorkerApi.LeaseBody(item.Token(), ""","result":null"""));
        var liveSeen = (await live.WaitForAsync(m => m.Count(x => x.JobId == id) == 3, Wait, "the job's three events")).Where(m => m.JobId == id).ToList();
        Assert.Equal(["queued", "running", "completed"], liveSeen.Select(m => m.Json.Str("job_status")));

        await using var replayAll = SseClient.Open(Client, $"{EventsPath}?type={type}&after={start}");
        var replayedAll = (await replayAll.WaitForAsync(m => m.Count(x => x.JobId == id) == 3, Wait, "the job's three events replayed")).Where(m => m.JobId == id);
        Assert.Equal(["queued", "running", "completed"], replayedAll.Select(m => m.Json.Str("job_status")));
        Assert.Equal(liveSeen.Select(m => m.Data), replayedAll.Select(m => m.Data));

        await using var replayOne = SseClient.Open(Client, StreamPath(id) + "?after=0");
        var replayedOne = await replayOne.WaitForAsync(m => m.Count == 3, Wait, "the job's three events replayed on its stream");
        Assert.Equal(liveSeen.Select(m => m.Data), replayedOne.Select(m => m.Data));

        await using var running = SseClient.Open(Client, $"{EventsPath}?type={type}&status=running&after={start}");
        var runningSeen = await running.WaitForAsync(m => m.Count >= 1, Wait, "the running event replayed");
        Assert.Equal(liveSeen[1].EventId, runningSeen[0].EventId);
    }

    [Fact]
    public async Task A_quiet_stream_answers_its_headers_at_once()
    {
        await using var quiet = SseClient.Open(Client, $"{EventsPath}?type={NewType("quiet")}");
        var response = await quiet.ResponseAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/api/v1/events?after=x", null, "after")]
    [InlineData("/api/v1/events?after=-1", null, "after")]
    [InlineData("/api/v1/events?after=1.5", null, "after")]
    [InlineData("/api/v1/events", "abc", "Last-Event-ID")]
    [InlineData("/api/v1/events?status=bogus", null, "status")]
    public async Task Bad_resume_points_and_filters_are_400_problems_naming_the_field(string path, string? lastEventId, string field)
    {
        using var response = await GetHeadersAsync(path, lastEventId);
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task A_bad_resume_point_on_a_job_stream_is_a_400_and_an_unknown_job_a_404()
    {
        var id = (await Client.CreateJobAsync($$"""{"type":"{{NewType("bad")}}"}""")).Str("id");
        using (var response = await GetHeadersAsync(StreamPath(id) + "?after=x"))
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, "after");
        }

        using (var response = await GetHeadersAsync(StreamPath(id), "nope"))
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, "Last-Event-ID");
        }

        using (var response = await GetHeadersAsync(StreamPath("no-such-job-" + Guid.NewGuid().ToString("N"))))
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.NotFound);
        }
    }

    /// <summary>
    /// Makes probe jobs (created, and claimed when <paramref name="claim"/>) until one's event comes through
    /// <paramref name="stream"/>: from then on the stream is subscribed and misses nothing.
    /// </summary>
    private async Task SubscribedAsync(SseClient stream, string? probeType = null, bool claim = false)
    {
        probeType ??= NewType("probe");
        var probes = new List<string>();
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var probe = (await Client.CreateJobAsync($$"""{"type":"{{probeType}}"}""")).Str("id");
            probes.Add(probe);
            if (claim)
            {
                await Client.ClaimOneAsync("w-sse-probe", probeType);
            }

            if (await stream.TryWaitForAsync(m => m.Any(x => probes.Contains(x.JobId)), TimeSpan.FromMilliseconds(250)))
            {
                return;
            }

            Assert.False(stream.Ended, $"the stream ended before it was subscribed: {string.Join("\n", stream.Messages)}");
            Assert.True(DateTime.UtcNow < deadline, $"no probe event came through the stream within {Wait.TotalSeconds} s");
        }
    }

    /// <summary>The id of an event committed now: every later event has a greater one.</summary>
    private async Task<long> LastEventIdAsync()
    {
        var marker = (await Client.CreateJobAsync($$"""{"type":"{{NewType("marker")}}"}""")).Str("id");
        return (await Client.EventsAsync(marker))[^1].GetProperty("id").GetInt64();
    }

    /// <summary>GET with only the headers awaited (a stream answered by mistake would never end), within a deadline.</summary>
    private async Task<HttpResponseMessage> GetHeadersAsync(string path, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        using var timeout = new CancellationTokenSource(Wait);
        return await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
    }

    private static void AssertIncreasing(IReadOnlyList<SseMessage> messages)
    {
        for (var i = 1; i < messages.Count; i++)
        {
            Assert.True(messages[i].EventId > messages[i - 1].EventId, $"ids not strictly increasing: {messages[i - 1]} then {messages[i]}");
        }

        Assert.Equal(messages.Count, messages.Select(m => m.Id).Distinct().Count());
    }
}
