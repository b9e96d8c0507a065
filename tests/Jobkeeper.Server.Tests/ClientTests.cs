using System.Net;
using System.Text.Json;
using Jobkeeper.Client;
using Jobkeeper.Model;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// <see cref="JobkeeperClient"/> against a real server: every method, its refusals as
/// <see cref="JobkeeperApiException"/> with the problem's kind, and the live event stream.
/// </summary>
public sealed class ClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly HttpClient _http = new() { BaseAddress = fixture.Server.BaseAddress };

    private JobkeeperClient Client => new(_http);

    public void Dispose() => _http.Dispose();

    private static string NewType(string what) => $"client.{what}.{Guid.NewGuid():N}";

    private static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Schedules_are_created_listed_changed_triggered_paused_resumed_and_deleted()
    {
        var name = "client-" + Guid.NewGuid().ToString("N");
        var created = await Client.CreateScheduleAsync(new Contracts.NewSchedule { Name = name, IntervalSeconds = 3600, Job = new ScheduleJob { Type = NewType("schedule") } });
        Assert.Equal(5, created.NextRuns.Count);
        Assert.Contains(await Client.ListSchedulesAsync(), s => s.Name == name);
        var changed = await Client.UpdateScheduleAsync(name, new Contracts.UpdateScheduleRequest { Cron = new Optional<string?>(true, "0 3 * * *"), TimeZone = new Optional<string?>(true, "America/New_York") });
        Assert.Equal(("0 3 * * *", (int?)null), (changed.Cron, changed.IntervalSeconds));
        var triggered = await Client.TriggerScheduleAsync(name);
        Assert.Equal(triggered.Job.Id, (await Client.GetScheduleAsync(name)).LastJobId);
        Assert.True((await Client.PauseScheduleAsync(name)).Paused);
        Assert.False((await Client.ResumeScheduleAsync(name)).Paused);
        await Client.DeleteScheduleAsync(name);
        var missing = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.GetScheduleAsync(name));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
    }

    [Fact]
    public async Task Create_with_a_unique_key_or_an_idempotency_key_answers_a_duplicate_with_the_existing_job()
    {
        var type = NewType("unique");
        var key = Guid.NewGuid().ToString("N");
        var first = await Client.CreateAsync(new NewJob { Type = type, UniqueKey = key });
        var second = await Client.CreateAsync(new NewJob { Type = type, UniqueKey = key });
        Assert.Null(first.Existing);
        Assert.Equal((first.Id, true, key), (second.Id, second.Existing, second.UniqueKey));

        var idempotent = await Client.CreateIdempotentAsync(new NewJob { Type = type }, "idem-" + key);
        var again = await Client.CreateIdempotentAsync(new NewJob { Type = type }, "idem-" + key);
        Assert.Equal((idempotent.Id, (bool?)null, true), (again.Id, idempotent.Existing, again.Existing));

        var batch = await Client.CreateManyAsync([new NewJob { Type = type, UniqueKey = key }, new NewJob { Type = type, UniqueKey = key + "-b" }]);
        Assert.Equal(["existing", "created"], batch.Items.Select(i => i.Outcome));
        Assert.Equal(first.Id, batch.Items[0].Job!.Id);
    }

    /// <summary>Any serialisable input, without building a JsonElement: snake_case names, as handlers read it back.</summary>
    [Fact]
    public async Task Create_takes_a_typed_input()
    {
        var created = await Client.CreateAsync(new NewJob { Type = NewType("typed") }, new TypedInput("a.wav", SampleRate: 48_000));
        var stored = await Client.GetRequiredAsync(created.Id);
        Assert.Equal("a.wav", stored.Input!.Value.GetProperty("file_name").GetString());
        Assert.Equal(48_000, stored.Input.Value.GetProperty("sample_rate").GetInt32());

        var missing = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.GetRequiredAsync("no-such-" + Guid.NewGuid().ToString("N")));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
    }

    private sealed record TypedInput(string FileName, int SampleRate);

    [Fact]
    public async Task Create_get_and_duplicate_id()
    {
        var type = NewType("create");
        var id = "client-" + Guid.NewGuid().ToString("N");
        var created = await Client.CreateAsync(new NewJob
        {
            Type = type,
            Id = id,
            Input = Json("""{"n":7,"text":"héllo"}"""),
            Labels = new Dictionary<string, string> { ["team"] = "a" },
            Priority = 3,
            MaxAttempts = 2,
        });
        Assert.Equal(id, created.Id);
        Assert.Equal(type, created.Type);
        Assert.Equal(JobStatus.Queued, created.Status);
        Assert.Equal(3, created.Priority);
        Assert.Equal(2, created.MaxAttempts);
        Assert.Equal("a", created.Labels["team"]);
        Assert.Equal(1, created.Version);

        var read = await Client.GetAsync(id);
        Assert.NotNull(read);
        Assert.Equal(id, read.Id);
        Assert.Equal(7, read.Input!.Value.GetProperty("n").GetInt32());
        Assert.Equal("héllo", read.Input!.Value.GetProperty("text").GetString());
        Assert.Equal(created.CreatedAt, read.CreatedAt);
        Assert.Equal(created.Version, read.Version);

        var duplicate = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.CreateAsync(new NewJob { Type = type, Id = id }));
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        Assert.Equal("duplicate-id", duplicate.Kind);
        Assert.Contains(id, duplicate.Detail, StringComparison.Ordinal);

        Assert.Null(await Client.GetAsync("no-such-" + Guid.NewGuid().ToString("N")));

        var invalid = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.CreateAsync(new NewJob { Type = type, MaxAttempts = 0 }));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.False(string.IsNullOrEmpty(invalid.Kind));
    }

    [Fact]
    public async Task List_pages_through_every_job_with_filters()
    {
        var type = NewType("list");
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var job = await Client.CreateAsync(new NewJob
            {
                Type = type,
                Labels = new Dictionary<string, string> { ["parity"] = i % 2 == 0 ? "even" : "odd" },
            });
            ids.Add(job.Id);
        }

        // Page size 5: three pages (5, 5, 2).
        var listed = new List<Job>();
        await foreach (var job in Client.ListAsync(type: type, pageSize: 5))
        {
            listed.Add(job);
        }

        Assert.Equal(ids.Count, listed.Count);
        Assert.Equal(ids.Order(StringComparer.Ordinal), listed.Select(j => j.Id).Order(StringComparer.Ordinal));
        Assert.Equal(listed.Count, listed.Select(j => j.Id).Distinct().Count());
        Assert.True(listed.Zip(listed.Skip(1)).All(p => p.First.CreatedAt >= p.Second.CreatedAt), "not newest first");

        var even = new List<Job>();
        await foreach (var job in Client.ListAsync(type: type, label: "parity:even", pageSize: 4))
        {
            even.Add(job);
        }

        Assert.Equal(6, even.Count);
        Assert.All(even, j => Assert.Equal("even", j.Labels["parity"]));

        await Client.CancelAsync(ids[0]);
        var cancelled = new List<Job>();
        await foreach (var job in Client.ListAsync(status: "cancelled", type: type, pageSize: 2))
        {
            cancelled.Add(job);
        }

        Assert.Equal(ids[0], Assert.Single(cancelled).Id);

        var bad = await Assert.ThrowsAsync<JobkeeperApiException>(async () =>
        {
            await foreach (var _ in Client.ListAsync(status: "nonsense"))
            {
            }
        });
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
    }

    [Fact]
    public async Task Update_with_and_without_if_match()
    {
        var job = await Client.CreateAsync(new NewJob { Type = NewType("update") });

        var patched = await Client.UpdateAsync(job.Id, Json("""{"labels":{"stage":"one"},"progress":{"current":1,"total":4,"message":"first"}}"""));
        Assert.Equal("one", patched.Labels["stage"]);
        Assert.Equal(1, patched.Progress!.Current);
        Assert.Equal(4, patched.Progress.Total);
        Assert.True(patched.Version > job.Version);

        var matched = await Client.UpdateAsync(job.Id, Json("""{"labels":{"stage":"two"}}"""), ifMatch: patched.Version);
        Assert.Equal("two", matched.Labels["stage"]);
        Assert.True(matched.Version > patched.Version);

        var stale = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.UpdateAsync(job.Id, Json("""{"labels":{"stage":"three"}}"""), ifMatch: patched.Version));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.Status);
        Assert.Equal("version-mismatch", stale.Kind);
        Assert.Equal("two", (await Client.GetAsync(job.Id))!.Labels["stage"]);

        var missing = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.UpdateAsync("no-such-" + Guid.NewGuid().ToString("N"), Json("""{"labels":{"a":"b"}}""")));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("job-not-found", missing.Kind);
    }

    [Fact]
    public async Task Cancel_retry_delete()
    {
        var job = await Client.CreateAsync(new NewJob { Type = NewType("control") });

        var cancelled = await Client.CancelAsync(job.Id);
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);

        var retried = await Client.RetryAsync(job.Id);
        Assert.Equal(JobStatus.Queued, retried.Status);
        Assert.True(retried.Version > cancelled.Version);

        var notFailed = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.RetryAsync(job.Id));
        Assert.Equal(HttpStatusCode.Conflict, notFailed.Status);
        Assert.False(string.IsNullOrEmpty(notFailed.Kind));

        await Client.DeleteAsync(job.Id);
        Assert.Null(await Client.GetAsync(job.Id));

        var gone = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.DeleteAsync(job.Id));
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
        Assert.Equal("job-not-found", gone.Kind);

        var cancelGone = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.CancelAsync(job.Id));
        Assert.Equal("job-not-found", cancelGone.Kind);
        var retryGone = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.RetryAsync(job.Id));
        Assert.Equal("job-not-found", retryGone.Kind);
    }

    [Fact]
    public async Task Prompt_read_and_answered_through_the_client()
    {
        var type = NewType("prompt");
        var job = await Client.CreateAsync(new NewJob { Type = type });
        Assert.Null(await Client.GetPromptAsync(job.Id));

        var missing = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.GetPromptAsync("no-such-" + Guid.NewGuid().ToString("N")));
        Assert.Equal("job-not-found", missing.Kind);

        var claimed = await _http.ClaimOneAsync("client-prompt", type);
        await _http.ActionAsync(job.Id, "prompt",
            WorkerApi.LeaseBody(claimed.Token(), ""","key":"approve","question":"Ship it?","options":["yes","no"]"""));

        var prompt = await Client.GetPromptAsync(job.Id);
        Assert.NotNull(prompt);
        Assert.Equal("approve", prompt.Key);
        Assert.Equal("Ship it?", prompt.Question);
        Assert.Equal(["yes", "no"], prompt.Options!);
        Assert.Null(prompt.AnsweredAt);
        Assert.Equal(JobStatus.Waiting, (await Client.GetAsync(job.Id))!.Status);

        var rejected = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.AnswerAsync(job.Id, Json("\"maybe\"")));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, rejected.Status);
        Assert.Equal("answer-rejected", rejected.Kind);

        var answered = await Client.AnswerAsync(job.Id, Json("\"yes\""), confidence: 0.9, answeredBy: "carol", reason: "looks fine", key: "approve");
        Assert.Equal(JobStatus.Queued, answered.Status);
        var record = Assert.Single(answered.Prompts);
        Assert.Equal("yes", record.Answer!.Value.GetString());
        Assert.Equal("carol", record.AnsweredBy);
        Assert.Equal(0.9, record.Confidence);
        Assert.Equal("looks fine", record.Reason);

        Assert.Null(await Client.GetPromptAsync(job.Id));
        var again = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.AnswerAsync(job.Id, Json("\"no\"")));
        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.False(string.IsNullOrEmpty(again.Kind));

        var events = await Client.GetEventsAsync(job.Id);
        Assert.Contains(events, e => e.Type == JobEventTypes.PromptAsked);
        Assert.Contains(events, e => e.Type == JobEventTypes.PromptAnswered && e.Actor == "carol");
    }

    [Fact]
    public async Task Events_cleanup_and_health()
    {
        var job = await Client.CreateAsync(new NewJob { Type = NewType("events") });
        await Client.UpdateAsync(job.Id, Json("""{"labels":{"x":"1"}}"""));
        await Client.CancelAsync(job.Id);

        var events = await Client.GetEventsAsync(job.Id);
        Assert.True(events.Count >= 3, string.Join(", ", events.Select(e => e.Type)));
        Assert.Equal(JobEventTypes.Created, events[0].Type);
        Assert.All(events, e => Assert.Equal(job.Id, e.JobId));
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Id < p.Second.Id), "events out of order");
        Assert.Contains(events, e => e.Type == JobEventTypes.StatusChanged);

        var after = await Client.GetEventsAsync(job.Id, after: events[0].Id);
        Assert.Equal(events.Skip(1).Select(e => e.Id), after.Select(e => e.Id));

        var missing = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.GetEventsAsync("no-such-" + Guid.NewGuid().ToString("N")));
        Assert.Equal("job-not-found", missing.Kind);

        var kept = await Client.CleanupAsync(365);
        Assert.Equal(365, kept.RetentionDays);
        Assert.False(string.IsNullOrEmpty(kept.Message));
        Assert.NotNull(await Client.GetAsync(job.Id));

        var cleaned = await Client.CleanupAsync(0);
        Assert.Equal(0, cleaned.RetentionDays);
        Assert.True(cleaned.DeletedCount >= 1, $"{cleaned}");
        Assert.Null(await Client.GetAsync(job.Id));

        var badDays = await Assert.ThrowsAsync<JobkeeperApiException>(() => Client.CleanupAsync(-1));
        Assert.Equal(HttpStatusCode.BadRequest, badDays.Status);

        var health = await Client.GetHealthAsync();
        Assert.Equal(JsonValueKind.Object, health.ValueKind);
        Assert.True(health.TryGetProperty("jobs_count", out var count) && count.GetInt64() >= 0, health.ToString());
    }

    [Fact]
    public async Task Events_returns_the_whole_history_beyond_one_page()
    {
        // The server answers at most 1000 events per request (next_after points on); "a job's history" is all of it.
        var job = await Client.CreateAsync(new NewJob { Type = NewType("history") });
        for (var i = 0; i < 1000; i++)
        {
            await Client.UpdateAsync(job.Id, Json($$$"""{"labels":{"i":"{{{i}}}"}}"""));
        }

        var stored = await _http.GetJsonAsync(Api.JobPath(job.Id) + "/events?limit=1000");
        Assert.Equal(JsonValueKind.Number, stored.GetProperty("next_after").ValueKind);

        var events = await Client.GetEventsAsync(job.Id);
        Assert.Equal(1001, events.Count);
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public async Task Watch_receives_a_created_jobs_events_in_order()
    {
        var type = NewType("watch");
        using var stop = new CancellationTokenSource(Deadline);
        var received = new List<StreamEvent>();
        var arrived = new SemaphoreSlim(0);
        var watching = Task.Run(async () =>
        {
            await foreach (var e in Client.WatchAsync(type: type, cancellationToken: stop.Token))
            {
                lock (received)
                {
                    received.Add(e);
                }

                arrived.Release();
            }
        });

        try
        {
            // The stream starts with what happens next: create probes until one is seen, so the subscription is live.
            var probes = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                probes.Add((await Client.CreateAsync(new NewJob { Type = type })).Id);
                if (await arrived.WaitAsync(TimeSpan.FromMilliseconds(200), stop.Token))
                {
                    break;
                }
            }

            var job = await Client.CreateAsync(new NewJob { Type = type });
            await Client.UpdateAsync(job.Id, Json("""{"labels":{"k":"v"}}"""));
            await Client.CancelAsync(job.Id);
            await Client.RetryAsync(job.Id);
            var stored = await Client.GetEventsAsync(job.Id);

            await Api.PollAsync(() =>
            {
                lock (received)
                {
                    return Task.FromResult(received.Count(e => e.JobId == job.Id) >= stored.Count);
                }
            }, Deadline, () => $"stored {stored.Count} events, streamed {received.Count(e => e.JobId == job.Id)}");

            List<StreamEvent> mine;
            lock (received)
            {
                mine = received.Where(e => e.JobId == job.Id).ToList();
                Assert.True(received.Zip(received.Skip(1)).All(p => p.First.Id < p.Second.Id), "stream ids not increasing");
                Assert.All(received, e => Assert.True(e.JobId == job.Id || probes.Contains(e.JobId!), $"a foreign job {e.JobId}"));
            }

            Assert.Equal(stored.Select(e => e.Id), mine.Select(e => e.Id));
            Assert.Equal(stored.Select(e => e.Type), mine.Select(e => e.Type));
            Assert.Equal(JobEventTypes.Created, mine[0].Type);
            Assert.All(mine, e => Assert.Equal(type, e.JobType));
            Assert.Equal(JobStatus.Queued, mine[^1].JobStatus);
        }
        finally
        {
            await stop.CancelAsync();
            await AwaitCancelledAsync(watching);
        }
    }

    [Fact]
    public async Task Watch_from_a_last_event_id_replays_earlier_events()
    {
        var type = NewType("replay");
        var job = await Client.CreateAsync(new NewJob { Type = type });
        await Client.UpdateAsync(job.Id, Json("""{"labels":{"k":"v"}}"""));
        await Client.CancelAsync(job.Id);
        var stored = await Client.GetEventsAsync(job.Id);
        Assert.True(stored.Count >= 3);

        // One job's stream from the start (0) and from after its first event; all jobs of the type from just before it.
        Assert.Equal(stored.Select(e => e.Id), await TakeAsync(Client.WatchAsync(jobId: job.Id, lastEventId: 0), stored.Count));
        Assert.Equal(stored.Skip(1).Select(e => e.Id), await TakeAsync(Client.WatchAsync(jobId: job.Id, lastEventId: stored[0].Id), stored.Count - 1));
        Assert.Equal(stored.Select(e => e.Id), await TakeAsync(Client.WatchAsync(type: type, lastEventId: stored[0].Id - 1), stored.Count));

        // Live events follow the replay on the same stream.
        using var stop = new CancellationTokenSource(Deadline);
        await using var stream = Client.WatchAsync(jobId: job.Id, lastEventId: stored[^1].Id - 1, cancellationToken: stop.Token).GetAsyncEnumerator(stop.Token);
        Assert.True(await stream.MoveNextAsync());
        Assert.Equal(stored[^1].Id, stream.Current.Id);
        await Client.RetryAsync(job.Id);
        Assert.True(await stream.MoveNextAsync());
        Assert.True(stream.Current.Id > stored[^1].Id);
        Assert.Equal(job.Id, stream.Current.JobId);

        var missing = await Assert.ThrowsAsync<JobkeeperApiException>(() => TakeAsync(Client.WatchAsync(jobId: "no-such-" + Guid.NewGuid().ToString("N")), 1));
        Assert.Equal("job-not-found", missing.Kind);
    }

    private static async Task<List<long>> TakeAsync(IAsyncEnumerable<StreamEvent> events, int count)
    {
        using var stop = new CancellationTokenSource(Deadline);
        var ids = new List<long>();
        await foreach (var e in events.WithCancellation(stop.Token))
        {
            ids.Add(e.Id);
            if (ids.Count == count)
            {
                break;
            }
        }

        return ids;
    }

    private static async Task AwaitCancelledAsync(Task task)
    {
        try
        {
            await task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
            // The watch ends by cancellation.
        }
    }
}
