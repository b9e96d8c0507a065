using System.Globalization;
using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Every route of the real server over loopback: status codes, headers and body shapes. The tests share
/// one server; each works on jobs of its own type (or labels) so they do not see each other's jobs.
/// </summary>
public sealed class RouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] JobFields =
    [
        "id", "type", "status", "priority", "input", "labels", "progress", "result", "error", "attempt", "max_attempts",
        "created_at", "updated_at", "started_at", "completed_at", "run_at", "version",
    ];

    private HttpClient Client => fixture.Client;

    private static string NewType(string what) => $"e2e.{what}.{Guid.NewGuid():N}";

    [Fact]
    public async Task Create_returns_201_with_location_etag_and_snake_case_job_with_a_uuid_v7_id()
    {
        var type = NewType("create");
        var before = DateTimeOffset.UtcNow;
        using var response = await Client.PostJsonAsync(Api.Jobs,
            $$$"""{"type":"{{{type}}}","input":{"file":"a.wav","n":[1,2]},"labels":{"episode_id":"42"},"priority":5,"max_attempts":4}""");
        var job = await Api.ExpectJsonAsync(response, HttpStatusCode.Created);

        Assert.Equal("application/json", response.ContentType()?.MediaType);
        foreach (var field in JobFields)
        {
            Assert.True(job.TryGetProperty(field, out _), $"field '{field}' missing from {job}");
        }

        foreach (var property in job.EnumerateObject())
        {
            Assert.Matches("^[a-z][a-z0-9]*(_[a-z0-9]+)*$", property.Name);
        }

        var id = job.Str("id");
        Assert.True(Guid.TryParse(id, out _), $"id '{id}' is not a UUID");
        Assert.Equal('7', id[14]); // version nibble
        Assert.Contains(id[19], "89ab"); // RFC 9562 variant
        var idMillis = long.Parse(id[..8] + id[9..13], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        var createdAt = DateTimeOffset.Parse(job.Str("created_at"), CultureInfo.InvariantCulture);
        Assert.InRange(idMillis, createdAt.ToUnixTimeMilliseconds() - 5_000, createdAt.ToUnixTimeMilliseconds() + 5_000);
        Assert.InRange(createdAt, before.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.EndsWith("Z", job.Str("created_at"), StringComparison.Ordinal);

        Assert.Equal(type, job.Str("type"));
        Assert.Equal("queued", job.Str("status"));
        Assert.Equal(5, job.GetProperty("priority").GetInt32());
        Assert.Equal(4, job.GetProperty("max_attempts").GetInt32());
        Assert.Equal(1, job.GetProperty("attempt").GetInt32()); // 1-based: the attempt a claim would run
        Assert.Equal(1, job.Version());
        Assert.Equal("42", job.GetProperty("labels").Str("episode_id"));
        Assert.Equal("a.wav", job.GetProperty("input").Str("file"));
        Assert.Equal(JsonValueKind.Null, job.GetProperty("started_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, job.GetProperty("completed_at").ValueKind);

        Assert.Equal("\"1\"", response.ETag());
        Assert.NotNull(response.Headers.Location);
        Assert.Equal("/api/v1/jobs/" + id, response.Headers.Location!.OriginalString);

        // The Location names the created job.
        var fetched = await Client.GetJobAsync(id);
        Assert.Equal(type, fetched.Str("type"));
        Assert.Equal(1, fetched.Version());
    }

    [Fact]
    public async Task Create_with_a_client_id_uses_it_and_a_duplicate_id_is_409_and_changes_nothing()
    {
        var id = "client-" + Guid.NewGuid().ToString("N");
        var type = NewType("dup");
        var job = await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","id":"{{{id}}}","input":{"first":true}}""");
        Assert.Equal(id, job.Str("id"));

        var count = await Client.JobsCountAsync();
        using var duplicate = await Client.PostJsonAsync(Api.Jobs, $$$"""{"type":"other","id":"{{{id}}}","input":{"first":false}}""");
        var problem = await Api.ExpectProblemAsync(duplicate, HttpStatusCode.Conflict);
        Assert.Contains(id, problem.Str("detail"), StringComparison.Ordinal);

        var after = await Client.GetJobAsync(id);
        Assert.Equal(type, after.Str("type"));
        Assert.True(after.GetProperty("input").GetProperty("first").GetBoolean());
        Assert.Equal(1, after.Version());
        Assert.Equal(count, await Client.JobsCountAsync());
    }

    [Fact]
    public async Task Get_returns_200_with_etag_and_unknown_id_is_404_problem()
    {
        var created = await Client.CreateJobAsync($$$"""{"type":"{{{NewType("get")}}}"}""");
        var id = created.Str("id");
        using (var response = await Client.GetAsync(Api.JobPath(id)))
        {
            var job = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
            Assert.Equal("\"1\"", response.ETag());
            Assert.Equal(created.ToString(), job.ToString());
        }

        using var missing = await Client.GetAsync(Api.JobPath("no-such-job-" + Guid.NewGuid().ToString("N")));
        var problem = await Api.ExpectProblemAsync(missing, HttpStatusCode.NotFound);
        Assert.Contains("no-such-job-", problem.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_filters_by_status_single_and_comma_list()
    {
        var type = NewType("status");
        var queued = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var running = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var completed = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        await Client.PatchJobAsync(running, """{"status":"running"}""");
        await Client.PatchJobAsync(completed, """{"status":"running"}""");
        await Client.PatchJobAsync(completed, """{"status":"completed"}""");

        Assert.Equal([running], await ListIdsAsync($"type={type}&status=running"));
        Assert.Equal([queued], await ListIdsAsync($"type={type}&status=queued"));
        Assert.Equal(new[] { running, completed }.Order(), (await ListIdsAsync($"type={type}&status=running,completed")).Order());
        Assert.Equal(new[] { queued, completed }.Order(), (await ListIdsAsync($"type={type}&status=completed&status=queued")).Order());
        Assert.Empty(await ListIdsAsync($"type={type}&status=failed,cancelled"));
        Assert.Equal(3, (await ListIdsAsync($"type={type}")).Count);

        // Every item of an unfiltered listing by status really has that status.
        var page = await Client.GetJsonAsync($"{Api.Jobs}?status=running&limit=1000");
        Assert.All(page.GetProperty("items").EnumerateArray(), j => Assert.Equal("running", j.Str("status")));
    }

    [Fact]
    public async Task List_filters_by_type_and_label()
    {
        var type = NewType("type");
        var episode = Guid.NewGuid().ToString("N");
        var a = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","labels":{"episode_id":"{{{episode}}}","user":"ann"}}""")).Str("id");
        var b = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","labels":{"episode_id":"{{{episode}}}","user":"bob"}}""")).Str("id");
        var c = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}-other","labels":{"episode_id":"{{{episode}}}"}}""")).Str("id");
        _ = await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","labels":{"episode_id":"x{{{episode}}}"}}""");

        Assert.Equal(3, (await ListIdsAsync($"type={type}")).Count);
        Assert.Equal([c], await ListIdsAsync($"type={type}-other"));
        Assert.Equal(new[] { a, b, c }.Order(), (await ListIdsAsync($"label=episode_id:{episode}")).Order());
        Assert.Equal([b], await ListIdsAsync($"label=episode_id:{episode}&label=user:bob"));
        Assert.Equal(new[] { a, b }.Order(), (await ListIdsAsync($"label=episode_id:{episode}&type={type}")).Order());
        Assert.Empty(await ListIdsAsync($"label=episode_id:{episode}&label=user:carl"));

        // Labels changed by PATCH are what the filter sees afterwards.
        await Client.PatchJobAsync(a, """{"labels":{"user":"bob"}}""");
        Assert.Equal(new[] { a, b }.Order(), (await ListIdsAsync($"label=episode_id:{episode}&label=user:bob")).Order());
        await Client.PatchJobAsync(a, """{"labels":{"episode_id":null}}""");
        Assert.Equal(new[] { b, c }.Order(), (await ListIdsAsync($"label=episode_id:{episode}")).Order());
    }

    [Fact]
    public async Task List_filters_by_created_after_inclusive_and_created_before_exclusive()
    {
        var type = NewType("range");
        var jobs = new List<JsonElement>();
        for (var i = 0; i < 6; i++)
        {
            jobs.Add(await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}"""));
        }

        var pivot = jobs[3];
        var pivotAt = DateTimeOffset.Parse(pivot.Str("created_at"), CultureInfo.InvariantCulture);
        var at = Uri.EscapeDataString(pivot.Str("created_at"));
        var expectedAfter = jobs.Where(j => Created(j) >= pivotAt).Select(j => j.Str("id")).Order().ToList();
        var expectedBefore = jobs.Where(j => Created(j) < pivotAt).Select(j => j.Str("id")).Order().ToList();
        Assert.Contains(pivot.Str("id"), expectedAfter);
        Assert.NotEmpty(expectedBefore);

        Assert.Equal(expectedAfter, (await ListIdsAsync($"type={type}&created_after={at}")).Order());
        Assert.Equal(expectedBefore, (await ListIdsAsync($"type={type}&created_before={at}")).Order());
        var first = Uri.EscapeDataString(jobs[1].Str("created_at"));
        Assert.Equal(
            jobs.Where(j => Created(j) >= Created(jobs[1]) && Created(j) < pivotAt).Select(j => j.Str("id")).Order(),
            (await ListIdsAsync($"type={type}&created_after={first}&created_before={at}")).Order());
        Assert.Empty(await ListIdsAsync($"type={type}&created_after={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(1).ToString("O", CultureInfo.InvariantCulture))}"));
    }

    [Fact]
    public async Task List_limit_and_cursor_page_through_everything_newest_first_without_duplicates_or_gaps()
    {
        var type = NewType("paging");
        var created = new List<string>();
        // Some created concurrently so that equal timestamps (tie broken by id) can occur.
        for (var round = 0; round < 4; round++)
        {
            var batch = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")));
            created.AddRange(batch.Select(j => j.Str("id")));
        }

        var seen = new List<JsonElement>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&limit=5" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.InRange(items.Count, 1, 5);
            seen.AddRange(items);
            cursor = page.GetProperty("next_cursor").ValueKind == JsonValueKind.Null ? null : page.Str("next_cursor");
            Assert.True(cursor is null || items.Count == 5, "a page before the last must be full");
            Assert.True(++pages <= 10, "paging does not end");
        }
        while (cursor is not null);

        Assert.Equal(5, pages); // 24 jobs, 5 per page
        var ids = seen.Select(j => j.Str("id")).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(created.Order(), ids.Order());
        for (var i = 1; i < seen.Count; i++)
        {
            var newer = seen[i - 1];
            var older = seen[i];
            var order = Created(newer).CompareTo(Created(older));
            Assert.True(order > 0 || (order == 0 && string.CompareOrdinal(newer.Str("id"), older.Str("id")) > 0),
                $"not newest first at {i}: {newer.Str("created_at")} {newer.Str("id")} then {older.Str("created_at")} {older.Str("id")}");
        }

        // limit alone caps the page; the default page has a cursor when more exist.
        var limited = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&limit=3");
        Assert.Equal(3, limited.GetProperty("items").GetArrayLength());
        Assert.Equal(ids.Take(3), limited.GetProperty("items").EnumerateArray().Select(j => j.Str("id")));
        var all = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&limit=1000");
        Assert.Equal(24, all.GetProperty("items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, all.GetProperty("next_cursor").ValueKind);
    }

    [Fact]
    public async Task Patch_status_transitions_set_started_at_and_completed_at_and_bump_version_and_etag()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("patch")}}}"}""")).Str("id");

        using (var response = await Client.PatchJsonAsync(Api.JobPath(id), """{"status":"running"}"""))
        {
            var running = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
            Assert.Equal("running", running.Str("status"));
            Assert.Equal(2, running.Version());
            Assert.Equal("\"2\"", response.ETag());
            Assert.NotEqual(JsonValueKind.Null, running.GetProperty("started_at").ValueKind);
            Assert.Equal(JsonValueKind.Null, running.GetProperty("completed_at").ValueKind);
            Assert.True(Created(running) <= DateTimeOffset.Parse(running.Str("started_at"), CultureInfo.InvariantCulture));
        }

        var completed = await Client.PatchJobAsync(id, """{"status":"completed","result":{"score":0.93,"tags":["a"]}}""");
        Assert.Equal("completed", completed.Str("status"));
        Assert.Equal(3, completed.Version());
        var completedAt = DateTimeOffset.Parse(completed.Str("completed_at"), CultureInfo.InvariantCulture);
        Assert.True(completedAt >= DateTimeOffset.Parse(completed.Str("started_at"), CultureInfo.InvariantCulture));
        Assert.Equal(0.93, completed.GetProperty("result").GetProperty("score").GetDouble());

        // The stored job is what PATCH returned.
        Assert.Equal(completed.ToString(), (await Client.GetJobAsync(id)).ToString());
    }

    [Fact]
    public async Task Patch_merges_progress_sets_result_and_error_and_merges_labels_with_null_removing()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("merge")}}}","labels":{"a":"1","b":"2"}}""")).Str("id");
        await Client.PatchJobAsync(id, """{"status":"running"}""");

        var p1 = await Client.PatchJobAsync(id, """{"progress":{"fraction":0.25,"stage":"decode","current":1,"total":4}}""");
        var p2 = await Client.PatchJobAsync(id, """{"progress":{"message":"half way","fraction":0.5}}""");
        var progress = p2.GetProperty("progress");
        Assert.Equal(0.5, progress.GetProperty("fraction").GetDouble());
        Assert.Equal("decode", progress.Str("stage"));
        Assert.Equal("half way", progress.Str("message"));
        Assert.Equal(1, progress.GetProperty("current").GetInt64());
        Assert.Equal(4, progress.GetProperty("total").GetInt64());
        Assert.Equal(p1.Version() + 1, p2.Version());

        var labelled = await Client.PatchJobAsync(id, """{"labels":{"b":null,"c":"3"}}""");
        var labels = labelled.GetProperty("labels");
        Assert.Equal(["a", "c"], labels.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("1", labels.Str("a"));
        Assert.Equal("3", labels.Str("c"));

        var withResult = await Client.PatchJobAsync(id, """{"result":{"partial":[1,2,3]}}""");
        Assert.Equal(3, withResult.GetProperty("result").GetProperty("partial").GetArrayLength());

        var failed = await Client.PatchJobAsync(id, """{"status":"failed","error":{"message":"decoder crashed","code":"E_DECODE","details":{"line":7}}}""");
        Assert.Equal("failed", failed.Str("status"));
        var error = failed.GetProperty("error");
        Assert.Equal("decoder crashed", error.Str("message"));
        Assert.Equal("E_DECODE", error.Str("code"));
        Assert.Equal(7, error.GetProperty("details").GetProperty("line").GetInt32());
        Assert.NotEqual(JsonValueKind.Null, failed.GetProperty("completed_at").ValueKind);

        var stored = await Client.GetJobAsync(id);
        Assert.Equal(failed.ToString(), stored.ToString());
        Assert.Equal("half way", stored.GetProperty("progress").Str("message"));
    }

    [Fact]
    public async Task Patch_with_if_match_succeeds_on_the_current_version_and_412s_on_a_stale_one()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("ifmatch")}}}"}""")).Str("id");

        using (var ok = await Client.PatchJsonAsync(Api.JobPath(id), """{"progress":{"stage":"one"}}""", ifMatch: "\"1\""))
        {
            var job = await Api.ExpectJsonAsync(ok, HttpStatusCode.OK);
            Assert.Equal(2, job.Version());
            Assert.Equal("\"2\"", ok.ETag());
        }

        using (var stale = await Client.PatchJsonAsync(Api.JobPath(id), """{"progress":{"stage":"two"}}""", ifMatch: "\"1\""))
        {
            var problem = await Api.ExpectProblemAsync(stale, HttpStatusCode.PreconditionFailed);
            Assert.Equal(2, problem.GetProperty("current_version").GetInt64());
        }

        var after = await Client.GetJobAsync(id);
        Assert.Equal(2, after.Version());
        Assert.Equal("one", after.GetProperty("progress").Str("stage"));

        // The ETag a GET returns is accepted as-is.
        using var get = await Client.GetAsync(Api.JobPath(id));
        var etag = get.ETag();
        var next = await Client.PatchJobAsync(id, """{"progress":{"stage":"two"}}""", ifMatch: etag);
        Assert.Equal(3, next.Version());
    }

    [Fact]
    public async Task Patch_illegal_transition_is_409_and_changes_nothing()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("illegal")}}}"}""")).Str("id");
        await Client.PatchJobAsync(id, """{"status":"running"}""");
        var completed = await Client.PatchJobAsync(id, """{"status":"completed"}""");

        using var response = await Client.PatchJsonAsync(Api.JobPath(id), """{"status":"running","labels":{"sneaky":"1"}}""");
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Contains("running", problem.Str("detail"), StringComparison.Ordinal);

        var after = await Client.GetJobAsync(id);
        Assert.Equal(completed.ToString(), after.ToString());

        using var queuedToCompleted = await Client.PatchJsonAsync(Api.JobPath(
            (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("illegal")}}}"}""")).Str("id")), """{"status":"completed"}""");
        await Api.ExpectProblemAsync(queuedToCompleted, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Patch_and_delete_of_an_unknown_job_are_404_problems()
    {
        var missing = Api.JobPath("missing-" + Guid.NewGuid().ToString("N"));
        using var patch = await Client.PatchJsonAsync(missing, """{"status":"running"}""");
        await Api.ExpectProblemAsync(patch, HttpStatusCode.NotFound);
        using var delete = await Client.DeleteAsync(missing);
        await Api.ExpectProblemAsync(delete, HttpStatusCode.NotFound);
        using var events = await Client.GetAsync(missing + "/events");
        await Api.ExpectProblemAsync(events, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Delete_returns_204_then_the_job_and_its_history_are_gone()
    {
        var type = NewType("delete");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","labels":{"del":"{{{type}}}"}}""")).Str("id");
        var keep = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");

        using (var response = await Client.DeleteAsync(Api.JobPath(id)))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }

        using (var get = await Client.GetAsync(Api.JobPath(id)))
        {
            await Api.ExpectProblemAsync(get, HttpStatusCode.NotFound);
        }

        using (var again = await Client.DeleteAsync(Api.JobPath(id)))
        {
            await Api.ExpectProblemAsync(again, HttpStatusCode.NotFound);
        }

        using (var events = await Client.GetAsync(Api.JobPath(id) + "/events"))
        {
            await Api.ExpectProblemAsync(events, HttpStatusCode.NotFound);
        }

        Assert.Equal([keep], await ListIdsAsync($"type={type}"));
        Assert.Empty(await ListIdsAsync($"label=del:{type}"));

        // The id is free again.
        var reused = await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","id":"{{{id}}}"}""");
        Assert.Equal(1, reused.Version());
    }

    [Fact]
    public async Task Cleanup_days_0_deletes_finished_jobs_only_and_reports_what_it_did()
    {
        var type = NewType("cleanup");
        var queued = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var running = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var completed = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var failed = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var cancelled = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        await Client.PatchJobAsync(running, """{"status":"running"}""");
        await Client.PatchJobAsync(completed, """{"status":"running"}""");
        await Client.PatchJobAsync(completed, """{"status":"completed"}""");
        await Client.PatchJobAsync(failed, """{"status":"failed","error":{"message":"x"}}""");
        await Client.PatchJobAsync(cancelled, """{"status":"cancelled"}""");

        // The default retention (7 days) keeps jobs that just finished.
        using (var keep = await Client.DeleteAsync(Api.Jobs + "/cleanup"))
        {
            var body = await Api.ExpectJsonAsync(keep, HttpStatusCode.OK);
            Assert.Equal(7, body.GetProperty("retention_days").GetInt32());
        }

        Assert.Equal(5, (await ListIdsAsync($"type={type}")).Count);

        var health = await Client.GetJsonAsync("/health");
        var byStatus = health.GetProperty("jobs_by_status");
        var terminal = byStatus.GetProperty("completed").GetInt64() + byStatus.GetProperty("failed").GetInt64() + byStatus.GetProperty("cancelled").GetInt64();
        Assert.True(terminal >= 3);

        using var response = await Client.DeleteAsync(Api.Jobs + "/cleanup?days=0");
        var result = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(terminal, result.GetProperty("deleted_count").GetInt64());
        Assert.Equal(0, result.GetProperty("retention_days").GetInt32());
        Assert.Contains(terminal.ToString(CultureInfo.InvariantCulture), result.Str("message"), StringComparison.Ordinal);

        Assert.Equal(new[] { queued, running }.Order(), (await ListIdsAsync($"type={type}")).Order());
        foreach (var gone in new[] { completed, failed, cancelled })
        {
            using var get = await Client.GetAsync(Api.JobPath(gone));
            await Api.ExpectProblemAsync(get, HttpStatusCode.NotFound);
        }

        Assert.Equal("running", (await Client.GetJobAsync(running)).Str("status"));
        var afterHealth = (await Client.GetJsonAsync("/health")).GetProperty("jobs_by_status");
        Assert.Equal(0, afterHealth.GetProperty("completed").GetInt64() + afterHealth.GetProperty("failed").GetInt64() + afterHealth.GetProperty("cancelled").GetInt64());
    }

    [Fact]
    public async Task Events_list_the_history_oldest_first()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("events")}}}"}""")).Str("id");
        using (await Client.PatchJsonAsync(Api.JobPath(id), """{"status":"running"}""", actor: "worker-7"))
        {
        }

        await Client.PatchJobAsync(id, """{"progress":{"stage":"encode","fraction":0.5}}""");
        await Client.PatchJobAsync(id, """{"status":"completed","result":{"ok":true}}""");

        var body = await Client.GetJsonAsync(Api.JobPath(id) + "/events");
        var events = body.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(
            ["created", "status_changed", "updated", "stage_changed", "updated", "status_changed", "updated"],
            events.Select(e => e.Str("type")));
        Assert.Equal([1L, 2, 2, 3, 3, 4, 4], events.Select(e => e.GetProperty("version").GetInt64()));
        Assert.All(events, e => Assert.Equal(id, e.Str("job_id")));
        var eventIds = events.Select(e => e.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(eventIds.Order(), eventIds);
        Assert.Equal(eventIds.Count, eventIds.Distinct().Count());
        var times = events.Select(e => DateTimeOffset.Parse(e.Str("at"), CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(times.Order(), times);

        var started = events[1].GetProperty("data");
        Assert.Equal("queued", started.Str("from"));
        Assert.Equal("running", started.Str("to"));
        Assert.Equal("worker-7", events[1].Str("actor"));
        Assert.Equal("encode", events[3].GetProperty("data").Str("to"));
        Assert.Equal("completed", events[5].GetProperty("data").Str("to"));

        // after/limit page through the same history.
        var firstTwo = await Client.GetJsonAsync(Api.JobPath(id) + "/events?limit=2");
        Assert.Equal(eventIds.Take(2), firstTwo.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()));
        var rest = await Client.GetJsonAsync(Api.JobPath(id) + $"/events?after={firstTwo.GetProperty("next_after").GetInt64()}");
        Assert.Equal(eventIds.Skip(2), rest.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()));
    }

    [Fact]
    public async Task Health_reports_store_counts_cache_and_uptime()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("health")}}}"}""")).Str("id");
        using var response = await Client.GetAsync("/health");
        var health = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);

        Assert.Equal("ok", health.Str("status"));
        var store = health.GetProperty("store");
        Assert.Equal("sqlite", store.Str("provider"));
        Assert.Equal(fixture.Server.DbPath, store.Str("location"));
        Assert.True(store.GetProperty("schema_version").GetInt32() >= 1);
        Assert.True(store.GetProperty("size_bytes").GetInt64() > 0);

        var count = health.GetProperty("jobs_count").GetInt64();
        Assert.True(count >= 1);
        var byStatus = health.GetProperty("jobs_by_status");
        Assert.Equal(["cancelled", "completed", "failed", "queued", "running", "waiting"], byStatus.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(count, byStatus.EnumerateObject().Sum(p => p.Value.GetInt64()));

        var cache = health.GetProperty("cache");
        Assert.True(cache.GetProperty("entries").GetInt32() >= 1);
        var hits = cache.GetProperty("hits").GetInt64();
        Assert.True(cache.GetProperty("misses").GetInt64() >= 0);
        Assert.True(health.GetProperty("uptime_seconds").GetInt64() >= 0);
        // SQLite: one process per file, so it always runs maintenance.
        Assert.True(health.GetProperty("maintenance").GetProperty("leader").GetBoolean());

        // A read of a hot job is a cache hit.
        await Client.GetJobAsync(id);
        var after = await Client.GetJsonAsync("/health");
        Assert.True(after.GetProperty("cache").GetProperty("hits").GetInt64() > hits);
    }

    [Fact]
    public async Task OpenApi_document_and_docs_page_are_served()
    {
        using var response = await Client.GetAsync("/openapi/v1.json");
        var document = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        Assert.StartsWith("3.", document.Str("openapi"), StringComparison.Ordinal);
        var paths = document.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/v1/jobs", out var jobs), "no /api/v1/jobs path");
        Assert.True(jobs.TryGetProperty("post", out _) && jobs.TryGetProperty("get", out _));
        Assert.True(paths.TryGetProperty("/api/v1/jobs/{id}", out var job), "no /api/v1/jobs/{id} path");
        Assert.True(job.TryGetProperty("get", out _) && job.TryGetProperty("patch", out _) && job.TryGetProperty("delete", out _));
        Assert.True(paths.TryGetProperty("/api/v1/jobs/cleanup", out _));
        Assert.True(paths.TryGetProperty("/api/v1/jobs/{id}/events", out _));
        Assert.True(paths.TryGetProperty("/health", out _));

        using var docs = await Client.GetAsync("/docs/index.html");
        var html = await docs.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal("text/html", docs.ContentType()?.MediaType);
        Assert.Contains("<html", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Get_with_if_none_match_of_the_current_etag_is_304()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("304")}}}"}""")).Str("id");
        using var request = new HttpRequestMessage(HttpMethod.Get, Api.JobPath(id));
        request.Headers.TryAddWithoutValidation("If-None-Match", "\"1\"");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal("\"1\"", response.ETag());
    }

    [Fact]
    public async Task Get_with_a_weak_if_none_match_of_the_current_etag_is_304_and_of_an_older_one_is_200()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("304w")}}}"}""")).Str("id");
        using var weak = new HttpRequestMessage(HttpMethod.Get, Api.JobPath(id));
        weak.Headers.TryAddWithoutValidation("If-None-Match", "W/\"1\"");
        using var notModified = await Client.SendAsync(weak);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var older = new HttpRequestMessage(HttpMethod.Get, Api.JobPath(id));
        older.Headers.TryAddWithoutValidation("If-None-Match", "W/\"0\"");
        using var modified = await Client.SendAsync(older);
        Assert.Equal(HttpStatusCode.OK, modified.StatusCode);
        Assert.Equal("\"1\"", modified.ETag());
    }

    /// <summary>The body of a read is made once per version of the job: a change is read back at once, body and ETag alike.</summary>
    [Fact]
    public async Task Get_after_a_change_answers_the_new_version_not_the_body_of_the_version_read_before()
    {
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{NewType("reread")}}}","labels":{"step":"one"}}""")).Str("id");
        for (var i = 0; i < 3; i++)
        {
            var first = await Client.GetJobAsync(id);
            Assert.Equal("one", first.GetProperty("labels").Str("step"));
            Assert.Equal(1, first.GetProperty("version").GetInt64());
        }

        await Client.PatchJobAsync(id, """{"labels":{"step":"two"}}""");
        using var response = await Client.GetAsync(Api.JobPath(id));
        var job = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        Assert.Equal("two", job.GetProperty("labels").Str("step"));
        Assert.Equal(2, job.GetProperty("version").GetInt64());
        Assert.Equal("\"2\"", response.ETag());
        Assert.Equal("application/json", response.ContentType()?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
    }

    [Fact]
    public async Task Docs_without_a_trailing_slash_lead_to_the_page()
    {
        using var response = await Client.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.ContentType()?.MediaType);
        Assert.EndsWith("/docs/index.html", response.RequestMessage!.RequestUri!.AbsolutePath, StringComparison.Ordinal);
    }

    private async Task<List<string>> ListIdsAsync(string query)
    {
        var page = await Client.GetJsonAsync($"{Api.Jobs}?{query}&limit=1000");
        Assert.Equal(JsonValueKind.Null, page.GetProperty("next_cursor").ValueKind);
        return page.GetProperty("items").EnumerateArray().Select(j => j.Str("id")).ToList();
    }

    private static DateTimeOffset Created(JsonElement job) =>
        DateTimeOffset.Parse(job.Str("created_at"), CultureInfo.InvariantCulture);
}
