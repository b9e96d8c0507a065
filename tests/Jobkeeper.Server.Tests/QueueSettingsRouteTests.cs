using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Queue settings over HTTP against a real server: the queues' state at a glance, limits changed at run time and held in
/// every claim, pause and resume (racing claims, waking long polls), a held-back job saying why, and bad input refused
/// naming the field with nothing changed. Each test uses queues and types of its own.
/// </summary>
public sealed class QueueSettingsRouteTests(ServerFixture fixture, ITestOutputHelper output) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    private static string Unique(string what) => $"{what}.{Guid.NewGuid():N}";

    private static string QueuePath(string name) => "/api/v1/queues/" + Uri.EscapeDataString(name);

    private async Task<JsonElement> Patch(string queue, string json)
    {
        using var response = await Client.PatchJsonAsync(QueuePath(queue), json);
        return await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
    }

    private async Task<JsonElement> Post(string queue, string action, string? json = null)
    {
        using var response = json is null ? await Client.PostAsync(QueuePath(queue) + "/" + action, null) : await Client.PostJsonAsync(QueuePath(queue) + "/" + action, json);
        return await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_queue_shows_its_settings_counts_and_oldest_queued_job_and_is_listed()
    {
        var queue = Unique("glance");
        var type = Unique("glance.job");
        await Client.CreateJobAsync($$"""{"type":"{{type}}","queue":"{{queue}}"}""");
        await Client.CreateJobAsync($$"""{"type":"{{type}}","queue":"{{queue}}"}""");
        await Client.ClaimOneAsync("w-glance", type);
        await Patch(queue, """{"concurrency_limit":3,"rate_limit":{"count":10,"period_seconds":60}}""");

        var shown = await Client.GetJsonAsync(QueuePath(queue));
        Assert.Equal(queue, shown.Str("name"));
        Assert.False(shown.GetProperty("paused").GetBoolean());
        Assert.Equal(3, shown.GetProperty("concurrency_limit").GetInt32());
        Assert.Equal(1, shown.GetProperty("running").GetInt64());
        Assert.Equal(1, shown.GetProperty("counts").GetProperty("queued").GetInt64());
        Assert.Equal(1, shown.GetProperty("counts").GetProperty("running").GetInt64());
        Assert.True(shown.GetProperty("oldest_queued_age_seconds").GetDouble() >= 0);
        Assert.Equal(10, shown.GetProperty("rate_limit").GetProperty("count").GetInt32());
        Assert.Equal(JsonValueKind.Object, shown.GetProperty("throughput").ValueKind);

        var listed = await Client.GetJsonAsync("/api/v1/queues");
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), q => q.Str("name") == queue);
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), q => q.Str("name") == "default");
    }

    [Fact]
    public async Task A_concurrency_limit_set_at_run_time_holds_for_claims_and_a_held_back_job_says_why()
    {
        var queue = Unique("limited");
        var type = Unique("limited.job");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await Client.CreateJobAsync($$"""{"type":"{{type}}","queue":"{{queue}}"}""")).Str("id"));
        }

        await Patch(queue, """{"concurrency_limit":1}""");
        var claimed = await Client.ClaimAsync($$"""{"worker_id":"w-limit","types":["{{type}}"],"max":10}""");
        Assert.Single(claimed);
        Assert.Empty(await Client.ClaimAsync($$"""{"worker_id":"w-limit","queues":["{{queue}}"],"max":10}"""));

        var held = await Client.GetJobAsync(ids.First(id => id != claimed[0].Str("id")));
        Assert.Equal("concurrency_limit", held.Str("blocked_by"));
        var listed = await Client.GetJsonAsync($"{Api.Jobs}?queue={queue}&status=queued");
        Assert.All(listed.GetProperty("items").EnumerateArray(), j => Assert.Equal("concurrency_limit", j.Str("blocked_by")));

        // Raising the limit lets the next claim take one more; removing it, all.
        await Patch(queue, """{"concurrency_limit":2}""");
        Assert.Single(await Client.ClaimAsync($$"""{"worker_id":"w-limit","queues":["{{queue}}"],"max":10}"""));
        await Patch(queue, """{"concurrency_limit":null}""");
        Assert.Single(await Client.ClaimAsync($$"""{"worker_id":"w-limit","queues":["{{queue}}"],"max":10}"""));
        Assert.Equal(JsonValueKind.Null, (await Client.GetJobAsync(ids[0])).GetProperty("blocked_by").ValueKind);
    }

    [Fact]
    public async Task Pausing_is_idempotent_stops_claims_and_resuming_lets_them_take_again()
    {
        var queue = Unique("paused");
        var type = Unique("paused.job");
        var id = (await Client.CreateJobAsync($$"""{"type":"{{type}}","queue":"{{queue}}"}""")).Str("id");

        Assert.True((await Post(queue, "pause")).GetProperty("paused").GetBoolean());
        Assert.True((await Post(queue, "pause")).GetProperty("paused").GetBoolean());
        Assert.Empty(await Client.ClaimAsync($$"""{"worker_id":"w-pause","types":["{{type}}"],"max":10}"""));
        Assert.Equal("paused", (await Client.GetJobAsync(id)).Str("blocked_by"));

        Assert.False((await Post(queue, "resume")).GetProperty("paused").GetBoolean());
        Assert.Single(await Client.ClaimAsync($$"""{"worker_id":"w-pause","types":["{{type}}"],"max":10}"""));
    }

    [Fact]
    public async Task One_type_can_be_paused_in_a_queue_while_the_others_run()
    {
        var queue = Unique("typepause");
        var a = Unique("typepause.a");
        var b = Unique("typepause.b");
        await Client.CreateJobAsync($$"""{"type":"{{a}}","queue":"{{queue}}"}""");
        var bId = (await Client.CreateJobAsync($$"""{"type":"{{b}}","queue":"{{queue}}"}""")).Str("id");

        var paused = await Post(queue, "pause", $$"""{"type":"{{a}}"}""");
        Assert.Equal([a], paused.GetProperty("paused_types").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal([bId], (await Client.ClaimAsync($$"""{"worker_id":"w-tp","queues":["{{queue}}"],"max":10}""")).Select(j => j.Str("id")));
        await Post(queue, "resume", $$"""{"type":"{{a}}"}""");
        Assert.Single(await Client.ClaimAsync($$"""{"worker_id":"w-tp","queues":["{{queue}}"],"max":10}"""));
    }

    [Fact]
    public async Task After_pause_returns_no_claim_sent_later_gets_a_job_while_claims_race_it()
    {
        var queue = Unique("race");
        var type = Unique("race.job");
        var jobs = string.Join(",", Enumerable.Range(0, 400).Select(_ => $$"""{"type":"{{type}}","queue":"{{queue}}"}"""));
        using (var created = await Client.PostJsonAsync(Api.Jobs + "/batch", $$"""{"jobs":[{{jobs}}]}"""))
        {
            await Api.ExpectJsonAsync(created, HttpStatusCode.OK);
        }

        var clock = Stopwatch.StartNew();
        long pausedAt = long.MaxValue;
        var claims = new System.Collections.Concurrent.ConcurrentBag<(long SentAt, int Got)>();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var sent = clock.ElapsedTicks;
                var got = await Client.ClaimAsync($$"""{"worker_id":"racer-{{w}}","queues":["{{queue}}"],"max":1}""");
                claims.Add((sent, got.Count));
            }
        })).ToArray();

        await Api.PollAsync(() => Task.FromResult(claims.Count(c => c.Got > 0) >= 20), TimeSpan.FromSeconds(30), () => "claims before the pause");
        await Post(queue, "pause");
        Interlocked.Exchange(ref pausedAt, clock.ElapsedTicks);
        await Api.PollAsync(() => Task.FromResult(claims.Count(c => c.SentAt > Interlocked.Read(ref pausedAt)) >= 40), TimeSpan.FromSeconds(30),
            () => "claims after the pause");
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var before = claims.Where(c => c.SentAt <= pausedAt).ToList();
        var after = claims.Where(c => c.SentAt > pausedAt).ToList();
        output.WriteLine($"pause race: {before.Count} claims sent before the pause returned ({before.Sum(c => c.Got)} jobs), " +
            $"{after.Count} after ({after.Sum(c => c.Got)} jobs)");
        Assert.True(before.Sum(c => c.Got) >= 20);
        Assert.Equal(0, after.Sum(c => c.Got));
    }

    [Fact]
    public async Task Resume_wakes_a_long_poll_waiting_on_the_paused_queue()
    {
        var queue = Unique("wake");
        var type = Unique("wake.job");
        var id = (await Client.CreateJobAsync($$"""{"type":"{{type}}","queue":"{{queue}}"}""")).Str("id");
        await Post(queue, "pause");
        var waiting = Client.ClaimAsync($$"""{"worker_id":"w-wake","types":["{{type}}"],"max":1,"wait_seconds":25}""");
        // The claim is waiting once it asked and found nothing: give it the time to get there, then resume.
        await Api.PollAsync(async () => (await Client.GetJobAsync(id)).Str("blocked_by") == "paused", TimeSpan.FromSeconds(5), () => "held back");
        await Task.Delay(200);
        Assert.False(waiting.IsCompleted);

        var clock = Stopwatch.StartNew();
        await Post(queue, "resume");
        var resumed = clock.Elapsed;
        var claimed = await waiting.WaitAsync(TimeSpan.FromSeconds(20));
        var woke = clock.Elapsed;
        output.WriteLine($"resume: answered after {resumed.TotalMilliseconds:0} ms; the waiting claim got the job {(woke - resumed).TotalMilliseconds:0} ms after that");
        Assert.Equal([id], claimed.Select(j => j.Str("id")));
    }

    [Fact]
    public async Task A_partitioned_queue_runs_one_job_per_user_at_a_time()
    {
        var queue = Unique("per-user");
        var type = Unique("per-user.job");
        foreach (var user in new[] { "ann", "ann", "bob" })
        {
            await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","queue":"{{{queue}}}","labels":{"user":"{{{user}}}"}}""");
        }

        var set = await Patch(queue, """{"partition":{"key":"label:user","limit":1}}""");
        Assert.Equal("label:user", set.GetProperty("partition").Str("key"));
        var claimed = await Client.ClaimAsync($$"""{"worker_id":"w-part","queues":["{{queue}}"],"max":10}""");
        Assert.Equal(["ann", "bob"], claimed.Select(j => j.GetProperty("labels").Str("user")).Order());
        var held = await Client.GetJsonAsync($"{Api.Jobs}?queue={queue}&status=queued");
        Assert.Equal("partition_limit", Assert.Single(held.GetProperty("items").EnumerateArray()).Str("blocked_by"));
    }

    [Theory]
    [InlineData("""{"concurrency_limit":0}""", "concurrency_limit")]
    [InlineData("""{"concurrency_limit":-3}""", "concurrency_limit")]
    [InlineData("""{"concurrency_limit":100001}""", "concurrency_limit")]
    [InlineData("""{"rate_limit":{"count":5,"period_seconds":0}}""", "rate_limit.period_seconds")]
    [InlineData("""{"rate_limit":{"count":0,"period_seconds":10}}""", "rate_limit.count")]
    [InlineData("""{"rate_limit":{"count":5,"period_seconds":10,"per_key":true}}""", "rate_limit.per_key")]
    [InlineData("""{"partition":{"key":"user","limit":1}}""", "partition.key")]
    [InlineData("""{"partition":{"key":"label:user","limit":0}}""", "partition.limit")]
    [InlineData("""{"concurrency":3}""", "concurrency")]
    public async Task Bad_settings_are_refused_naming_the_field_and_change_nothing(string body, string field)
    {
        var queue = Unique("bad");
        await Client.CreateJobAsync($$"""{"type":"{{Unique("bad.job")}}","queue":"{{queue}}"}""");
        await Patch(queue, """{"concurrency_limit":2}""");

        using var response = await Client.PatchJsonAsync(QueuePath(queue), body);
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        var after = await Client.GetJsonAsync(QueuePath(queue));
        Assert.Equal(2, after.GetProperty("concurrency_limit").GetInt32());
        Assert.Equal(JsonValueKind.Null, after.GetProperty("rate_limit").ValueKind);
        Assert.Equal(JsonValueKind.Null, after.GetProperty("partition").ValueKind);
    }

    [Fact]
    public async Task Settings_calls_on_an_unknown_queue_or_a_bad_name_are_refused()
    {
        var unknown = Unique("nowhere");
        using (var patch = await Client.PatchJsonAsync(QueuePath(unknown), """{"concurrency_limit":2}"""))
        {
            await Api.ExpectProblemAsync(patch, HttpStatusCode.NotFound, "name");
        }

        using (var pause = await Client.PostAsync(QueuePath(unknown) + "/pause", null))
        {
            await Api.ExpectProblemAsync(pause, HttpStatusCode.NotFound, "name");
        }

        using (var get = await Client.GetAsync(QueuePath(unknown)))
        {
            await Api.ExpectProblemAsync(get, HttpStatusCode.NotFound, "name");
        }

        using var bad = await Client.PatchJsonAsync(QueuePath("bad name!"), """{"concurrency_limit":2}""");
        await Api.ExpectProblemAsync(bad, HttpStatusCode.BadRequest, "name");
        var listed = await Client.GetJsonAsync("/api/v1/queues");
        Assert.DoesNotContain(listed.GetProperty("items").EnumerateArray(), q => q.Str("name") == unknown);
    }

    [Fact]
    public async Task Queue_series_are_scraped_per_queue()
    {
        var queue = Unique("metrics");
        await Client.CreateJobAsync($$"""{"type":"{{Unique("metrics.job")}}","queue":"{{queue}}"}""");
        await Post(queue, "pause");

        static bool Has(string metrics, string name, string queue, string with) => metrics.Split('\n').Any(line =>
            line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains($"queue=\"{queue}\"", StringComparison.Ordinal)
            && line.Contains(with, StringComparison.Ordinal) && line.EndsWith(" 1", StringComparison.Ordinal));
        await Api.PollAsync(async () => Has(await Client.GetStringAsync("/metrics"), "jobkeeper_queue_paused", queue, ""), TimeSpan.FromSeconds(20),
            () => "jobkeeper_queue_paused of the queue in /metrics");
        Assert.True(Has(await Client.GetStringAsync("/metrics"), "jobkeeper_queue_jobs", queue, "status=\"queued\""), "jobkeeper_queue_jobs of the queue");
    }
}
