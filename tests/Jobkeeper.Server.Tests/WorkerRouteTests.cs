using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// The external-worker protocol of the real server over loopback: claim, heartbeat, progress, complete,
/// fail and release under a lease token, plus cancel and retry. The tests share one server; each works on
/// job types of its own, so no test claims another's jobs.
/// </summary>
public sealed class WorkerRouteTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    private static string NewType(string what) => $"worker.{what}.{Guid.NewGuid():N}";

    private static string NewWorker(string what) => $"w-{what}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task Claim_heartbeat_progress_complete_runs_a_job_and_its_events_name_the_worker()
    {
        var type = NewType("happy");
        var worker = NewWorker("happy");
        var created = await Client.CreateJobAsync(
            $$$"""{"type":"{{{type}}}","input":{"text":"to be or not"},"labels":{"episode_id":"42"},"priority":3,"max_attempts":4}""");
        var id = created.Str("id");

        var before = DateTimeOffset.UtcNow;
        var item = await Client.ClaimOneAsync(worker, type, leaseSeconds: 60);
        foreach (var field in WorkerApi.WorkItemFields)
        {
            Assert.True(item.TryGetProperty(field, out _), $"field '{field}' missing from the claimed job {item}");
        }

        Assert.Equal(id, item.Str("id"));
        Assert.Equal(type, item.Str("type"));
        Assert.Equal("to be or not", item.GetProperty("input").Str("text"));
        Assert.Equal("42", item.GetProperty("labels").Str("episode_id"));
        Assert.Equal(3, item.GetProperty("priority").GetInt32());
        Assert.Equal(1, item.GetProperty("attempt").GetInt32());
        Assert.Equal(4, item.GetProperty("max_attempts").GetInt32());
        Assert.Equal(created.Version() + 1, item.Version());
        Assert.False(string.IsNullOrWhiteSpace(item.Token()));
        var leaseUntil = item.Time("lease_expires_at");
        Assert.InRange(leaseUntil, before.AddSeconds(30), DateTimeOffset.UtcNow.AddSeconds(90));

        // Readers see it running under the worker's lease, but never the token.
        var running = await Client.GetJobAsync(id);
        Assert.Equal("running", running.Str("status"));
        Assert.Equal(worker, running.Str("lease_owner"));
        Assert.Equal(item.Str("lease_expires_at"), running.Str("lease_expires_at"));
        Assert.False(running.IsNull("started_at"));
        Assert.False(running.TryGetProperty("lease_token", out _), $"GET shows the lease token: {running}");
        Assert.DoesNotContain(item.Token(), running.ToString(), StringComparison.Ordinal);

        var beat = await Client.ActionAsync(id, "heartbeat", WorkerApi.LeaseBody(item.Token(), ""","lease_seconds":120"""));
        Assert.Equal(["cancel_requested", "id", "lease_expires_at", "version"], beat.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(id, beat.Str("id"));
        Assert.False(beat.GetProperty("cancel_requested").GetBoolean());
        Assert.True(beat.Time("lease_expires_at") > leaseUntil, $"the heartbeat did not extend the lease: {beat} after {item}");
        Assert.True(beat.Version() >= item.Version());

        var progress = await Client.ActionAsync(id, "progress",
            WorkerApi.LeaseBody(item.Token(), ""","fraction":0.5,"stage":"count","message":"half way","current":2,"total":4"""));
        Assert.Equal(["cancel_requested", "id", "lease_expires_at", "version"], progress.EnumerateObject().Select(p => p.Name).Order());
        Assert.False(progress.GetProperty("cancel_requested").GetBoolean());
        Assert.True(progress.Version() > beat.Version());
        var reported = (await Client.GetJobAsync(id)).GetProperty("progress");
        Assert.Equal(0.5, reported.GetProperty("fraction").GetDouble());
        Assert.Equal("count", reported.Str("stage"));
        Assert.Equal("half way", reported.Str("message"));
        Assert.Equal(2, reported.GetProperty("current").GetInt64());
        Assert.Equal(4, reported.GetProperty("total").GetInt64());

        // Progress members merge: a later report of one member keeps the others.
        await Client.ActionAsync(id, "progress", WorkerApi.LeaseBody(item.Token(), ""","current":3"""));
        reported = (await Client.GetJobAsync(id)).GetProperty("progress");
        Assert.Equal(3, reported.GetProperty("current").GetInt64());
        Assert.Equal("count", reported.Str("stage"));

        using (var response = await Client.PostActionAsync(id, "complete", WorkerApi.LeaseBody(item.Token(), ""","result":{"words":4}""")))
        {
            var completed = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
            Assert.Equal("completed", completed.Str("status"));
            Assert.Equal(4, completed.GetProperty("result").GetProperty("words").GetInt32());
            Assert.False(completed.IsNull("completed_at"));
            Assert.Equal(1, completed.GetProperty("attempt").GetInt32());
            Assert.Equal($"\"{completed.Version()}\"", response.ETag());
            Assert.Equal(completed.ToString(), (await Client.GetJobAsync(id)).ToString());
        }

        var events = await Client.EventsAsync(id);
        Assert.Equal(["created", "status_changed", "stage_changed", "updated", "updated", "status_changed"], events.Select(e => e.Str("type")));
        var claimed = events[1];
        Assert.Equal(worker, claimed.Str("actor"));
        Assert.Equal("queued", claimed.GetProperty("data").Str("from"));
        Assert.Equal("running", claimed.GetProperty("data").Str("to"));
        Assert.Equal(worker, claimed.GetProperty("data").Str("worker"));
        Assert.Equal(1, claimed.GetProperty("data").GetProperty("attempt").GetInt32());
        Assert.All(events.Skip(1), e => Assert.Equal(worker, e.Str("actor")));
        var finished = events[^1].GetProperty("data");
        Assert.Equal("completed", finished.Str("to"));
        Assert.Equal(worker, finished.Str("worker"));

        // The lease ended with the job: the token no longer works.
        using var late = await Client.PostActionAsync(id, "heartbeat", WorkerApi.LeaseBody(item.Token()));
        await WorkerApi.ExpectLeaseLostAsync(late);
    }

    [Fact]
    public async Task Fail_with_retry_queues_the_next_attempt_later_and_fail_with_retry_false_ends_failed()
    {
        var type = NewType("fail");
        var worker = NewWorker("fail");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","max_attempts":3}""")).Str("id");
        var first = await Client.ClaimOneAsync(worker, type);
        var runAt = first.Time("run_at");

        var retried = await Client.ActionAsync(id, "fail",
            WorkerApi.LeaseBody(first.Token(), ""","error":{"message":"decoder crashed","code":"E_DECODE","details":{"frame":7}}"""));
        Assert.Equal("queued", retried.Str("status"));
        Assert.Equal(2, retried.GetProperty("attempt").GetInt32());
        Assert.True(retried.Time("run_at") > retried.Time("updated_at"), $"the retry is not scheduled after the failure: {retried}");
        Assert.True(retried.Time("run_at") > runAt);
        Assert.True(retried.IsNull("completed_at"));
        var error = retried.GetProperty("error");
        Assert.Equal("decoder crashed", error.Str("message"));
        Assert.Equal("E_DECODE", error.Str("code"));
        Assert.Equal(7, error.GetProperty("details").GetProperty("frame").GetInt32());

        var requeued = (await Client.EventsAsync(id)).StatusChanges().Last();
        Assert.Equal("queued", requeued.GetProperty("data").Str("to"));
        Assert.Equal("retry", requeued.GetProperty("data").Str("reason"));
        Assert.Equal(2, requeued.GetProperty("data").GetProperty("attempt").GetInt32());
        Assert.Equal(worker, requeued.GetProperty("data").Str("worker"));

        // The old token is spent; the job comes back to a claim once its run_at is due.
        using (var stale = await Client.PostActionAsync(id, "complete", WorkerApi.LeaseBody(first.Token())))
        {
            await WorkerApi.ExpectLeaseLostAsync(stale);
        }

        var second = await Client.ClaimOneAsync(worker, type, waitSeconds: 10);
        Assert.Equal(id, second.Str("id"));
        Assert.Equal(2, second.GetProperty("attempt").GetInt32());
        Assert.NotEqual(first.Token(), second.Token());
        Assert.True((await Client.GetJobAsync(id)).Time("started_at") >= retried.Time("run_at"));

        // retry:false ends it failed although attempts remain; the error may be just a message string.
        var failed = await Client.ActionAsync(id, "fail", WorkerApi.LeaseBody(second.Token(), ""","error":"unsupported codec","retry":false"""));
        Assert.Equal("failed", failed.Str("status"));
        Assert.Equal(2, failed.GetProperty("attempt").GetInt32());
        Assert.Equal("unsupported codec", failed.GetProperty("error").Str("message"));
        Assert.False(failed.IsNull("completed_at"));
        Assert.Empty(await Client.ClaimAsync(worker, type));
    }

    [Fact]
    public async Task Fail_on_the_last_attempt_ends_failed_even_with_retry()
    {
        var type = NewType("last");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","max_attempts":1}""")).Str("id");
        var item = await Client.ClaimOneAsync(NewWorker("last"), type);
        var failed = await Client.ActionAsync(id, "fail", WorkerApi.LeaseBody(item.Token(), ""","error":{"message":"no"},"retry":true"""));
        Assert.Equal("failed", failed.Str("status"));
        Assert.Equal(1, failed.GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task Release_queues_the_job_at_once_with_the_same_attempt_and_the_old_token_is_refused_after_a_new_claim()
    {
        var type = NewType("release");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var first = await Client.ClaimOneAsync("w-first", type);

        var released = await Client.ActionAsync(id, "release", WorkerApi.LeaseBody(first.Token()));
        Assert.Equal("queued", released.Str("status"));
        Assert.Equal(1, released.GetProperty("attempt").GetInt32());
        Assert.True(released.Time("run_at") <= released.Time("updated_at"), $"a released job is due at once: {released}");
        var events = await Client.EventsAsync(id);
        Assert.Contains(events, e => e.Str("type") == "released" && e.Str("actor") == "w-first");
        Assert.Equal("released", events.StatusChanges().Last().GetProperty("data").Str("reason"));

        var second = await Client.ClaimOneAsync("w-second", type);
        Assert.Equal(id, second.Str("id"));
        Assert.Equal(1, second.GetProperty("attempt").GetInt32());
        Assert.NotEqual(first.Token(), second.Token());
        var held = await Client.GetJobAsync(id);
        Assert.Equal("w-second", held.Str("lease_owner"));

        // The first worker's token is stale: every call is refused and changes nothing.
        foreach (var (action, extra) in new[]
                 {
                     ("complete", ""","result":{"stale":true}"""), ("heartbeat", ""), ("progress", ""","fraction":0.9"""),
                     ("fail", ""","error":"stale" """), ("release", ""),
                 })
        {
            using var response = await Client.PostActionAsync(id, action, WorkerApi.LeaseBody(first.Token(), extra));
            var problem = await WorkerApi.ExpectLeaseLostAsync(response);
            Assert.Contains(id, problem.Str("detail"), StringComparison.Ordinal);
            var after = await Client.GetJobAsync(id);
            Assert.Equal(held.Version(), after.Version());
            Assert.Equal(held.ToString(), after.ToString());
        }

        var completed = await Client.ActionAsync(id, "complete", WorkerApi.LeaseBody(second.Token(), ""","result":{"by":"second"}"""));
        Assert.Equal("completed", completed.Str("status"));
        Assert.Equal("second", completed.GetProperty("result").Str("by"));
        Assert.Equal("w-second", (await Client.EventsAsync(id)).StatusChanges().Last().Str("actor"));
    }

    [Fact]
    public async Task Heartbeat_and_progress_without_lease_seconds_renew_for_the_length_the_claim_asked_for()
    {
        var type = NewType("claimed-length");
        var id = (await Client.CreateJobAsync($$"""{"type":"{{type}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync(NewWorker("length"), type, leaseSeconds: 20);

        // Not the 30 s a heartbeat used to renew for, whatever the claim asked.
        var before = DateTimeOffset.UtcNow;
        var beat = await Client.ActionAsync(id, "heartbeat", WorkerApi.LeaseBody(item.Token()));
        Assert.InRange(beat.Time("lease_expires_at"), before.AddSeconds(19), DateTimeOffset.UtcNow.AddSeconds(20.01));

        // A length given once becomes the job's: later renewals without one use it.
        await Client.ActionAsync(id, "heartbeat", WorkerApi.LeaseBody(item.Token(), ""","lease_seconds":25"""));
        before = DateTimeOffset.UtcNow;
        var progress = await Client.ActionAsync(id, "progress", WorkerApi.LeaseBody(item.Token(), ""","fraction":0.5"""));
        Assert.InRange(progress.Time("lease_expires_at"), before.AddSeconds(24), DateTimeOffset.UtcNow.AddSeconds(25.01));
    }

    [Fact]
    public async Task A_lease_that_runs_out_without_heartbeat_puts_the_job_back_with_the_next_attempt()
    {
        var type = NewType("expire");
        var worker = NewWorker("expire");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","max_attempts":2}""")).Str("id");
        var item = await Client.ClaimOneAsync(worker, type, leaseSeconds: 1);

        JsonElement job = default;
        await Api.PollAsync(async () => (job = await Client.GetJobAsync(id)).Str("status") == "queued",
            TimeSpan.FromSeconds(30), () => $"the expired lease was not reaped: {job}");
        Assert.Equal(2, job.GetProperty("attempt").GetInt32());
        Assert.True(job.IsNull("lease_owner"), $"the reaped job still names a lease owner: {job}");

        var events = await Client.EventsAsync(id);
        Assert.Contains(events, e => e.Str("type") == "lease_expired");
        var requeued = events.StatusChanges().Last().GetProperty("data");
        Assert.Equal("lease_expired", requeued.Str("reason"));
        Assert.Equal(worker, requeued.Str("worker"));

        using (var late = await Client.PostActionAsync(id, "complete", WorkerApi.LeaseBody(item.Token(), ""","result":"too late" """)))
        {
            await WorkerApi.ExpectLeaseLostAsync(late);
        }

        var again = await Client.ClaimOneAsync(worker, type);
        Assert.Equal(2, again.GetProperty("attempt").GetInt32());
    }

    [Fact]
    public async Task Completing_a_job_that_is_not_running_is_409_lease_lost_and_changes_nothing()
    {
        var type = NewType("notrunning");
        var queued = await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""");
        using (var response = await Client.PostActionAsync(queued.Str("id"), "complete", WorkerApi.LeaseBody(Guid.NewGuid().ToString("N"), ""","result":1""")))
        {
            await WorkerApi.ExpectLeaseLostAsync(response);
        }

        Assert.Equal(queued.ToString(), (await Client.GetJobAsync(queued.Str("id"))).ToString());

        // Running, but set so by hand (PATCH): there is no lease to hold.
        var manual = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}-manual"}""")).Str("id");
        var patched = await Client.PatchJobAsync(manual, """{"status":"running"}""");
        using (var response = await Client.PostActionAsync(manual, "complete", WorkerApi.LeaseBody("any-token")))
        {
            await WorkerApi.ExpectLeaseLostAsync(response);
        }

        Assert.Equal(patched.ToString(), (await Client.GetJobAsync(manual)).ToString());
    }

    [Fact]
    public async Task Progress_or_heartbeat_on_a_finished_job_is_409_lease_lost_and_changes_nothing()
    {
        var type = NewType("finished");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync(NewWorker("finished"), type);
        var completed = await Client.ActionAsync(id, "complete", WorkerApi.LeaseBody(item.Token(), ""","result":{"ok":true}"""));

        using (var progress = await Client.PostActionAsync(id, "progress", WorkerApi.LeaseBody(item.Token(), ""","fraction":1,"stage":"late" """)))
        {
            var problem = await WorkerApi.ExpectLeaseLostAsync(progress);
            Assert.Contains("completed", problem.Str("detail"), StringComparison.Ordinal);
        }

        using (var heartbeat = await Client.PostActionAsync(id, "heartbeat", WorkerApi.LeaseBody(item.Token())))
        {
            await WorkerApi.ExpectLeaseLostAsync(heartbeat);
        }

        using (var again = await Client.PostActionAsync(id, "complete", WorkerApi.LeaseBody(item.Token(), ""","result":{"ok":false}""")))
        {
            await WorkerApi.ExpectLeaseLostAsync(again);
        }

        Assert.Equal(completed.ToString(), (await Client.GetJobAsync(id)).ToString());
    }

    [Fact]
    public async Task A_wrong_token_on_a_running_job_is_409_lease_lost_and_changes_nothing()
    {
        var type = NewType("wrong");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync(NewWorker("wrong"), type);
        var held = await Client.GetJobAsync(id);
        foreach (var action in new[] { "heartbeat", "progress", "complete", "release" })
        {
            using var response = await Client.PostActionAsync(id, action, WorkerApi.LeaseBody(item.Token() + "x"));
            await WorkerApi.ExpectLeaseLostAsync(response);
        }

        Assert.Equal(held.ToString(), (await Client.GetJobAsync(id)).ToString());
    }

    [Fact]
    public async Task Worker_calls_cancel_and_retry_on_an_unknown_job_are_404()
    {
        var missing = "missing-" + Guid.NewGuid().ToString("N");
        foreach (var action in new[] { "heartbeat", "progress", "complete", "release" })
        {
            using var response = await Client.PostActionAsync(missing, action, WorkerApi.LeaseBody("t"));
            await Api.ExpectProblemAsync(response, HttpStatusCode.NotFound);
        }

        using (var fail = await Client.PostActionAsync(missing, "fail", WorkerApi.LeaseBody("t", ""","error":"x" """)))
        {
            await Api.ExpectProblemAsync(fail, HttpStatusCode.NotFound);
        }

        foreach (var action in new[] { "cancel", "retry" })
        {
            using var response = await Client.PostControlAsync(missing, action);
            var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.NotFound);
            Assert.Contains(missing, problem.Str("detail"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Cancel_of_a_queued_job_cancels_it_at_once_and_cancelling_twice_is_fine()
    {
        var type = NewType("cancel-queued");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");

        var cancelled = await Client.ControlAsync(id, "cancel", actor: "ops-ann");
        Assert.Equal("cancelled", cancelled.Str("status"));
        Assert.False(cancelled.IsNull("completed_at"));
        Assert.Equal(2, cancelled.Version());
        var change = (await Client.EventsAsync(id)).StatusChanges().Last();
        Assert.Equal("ops-ann", change.Str("actor"));
        Assert.Equal("cancelled", change.GetProperty("data").Str("to"));

        var again = await Client.ControlAsync(id, "cancel");
        Assert.Equal(cancelled.ToString(), again.ToString());
        Assert.Empty(await Client.ClaimAsync(NewWorker("cancel"), type));
    }

    [Fact]
    public async Task Cancel_of_a_claimed_job_asks_its_worker_to_stop_and_the_worker_completing_leaves_it_cancelled_without_result()
    {
        var type = NewType("cancel-running");
        var worker = NewWorker("cancel");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync(worker, type, leaseSeconds: 600);

        var requested = await Client.ControlAsync(id, "cancel", actor: "ops-bob");
        Assert.Equal("running", requested.Str("status"));
        Assert.False(requested.IsNull("cancel_requested_at"), $"cancel_requested_at not set: {requested}");
        Assert.Equal(worker, requested.Str("lease_owner"));
        // The lease is cut to the grace period: far sooner than the 600 s the worker claimed for.
        Assert.True(requested.Time("lease_expires_at") < item.Time("lease_expires_at"), $"the lease was not cut: {requested}");

        var twice = await Client.ControlAsync(id, "cancel");
        Assert.Equal(requested.Version(), twice.Version());

        var beat = await Client.ActionAsync(id, "heartbeat", WorkerApi.LeaseBody(item.Token(), ""","lease_seconds":600"""));
        Assert.True(beat.GetProperty("cancel_requested").GetBoolean(), $"heartbeat does not say cancel_requested: {beat}");
        Assert.Equal(requested.Str("lease_expires_at"), beat.Str("lease_expires_at")); // not extended any more
        var progress = await Client.ActionAsync(id, "progress", WorkerApi.LeaseBody(item.Token(), ""","message":"stopping" """));
        Assert.True(progress.GetProperty("cancel_requested").GetBoolean());

        var ended = await Client.ActionAsync(id, "complete", WorkerApi.LeaseBody(item.Token(), ""","result":{"words":99}"""));
        Assert.Equal("cancelled", ended.Str("status"));
        Assert.True(ended.IsNull("result"), $"a cancelled job kept the result: {ended}");
        Assert.False(ended.IsNull("completed_at"));
        Assert.Equal(ended.ToString(), (await Client.GetJobAsync(id)).ToString());

        var events = await Client.EventsAsync(id);
        var cancelRequested = Assert.Single(events, e => e.Str("type") == "cancel_requested");
        Assert.Equal("ops-bob", cancelRequested.Str("actor"));
        var last = events.StatusChanges().Last();
        Assert.Equal("cancelled", last.GetProperty("data").Str("to"));
        Assert.Equal(worker, last.Str("actor"));
    }

    [Fact]
    public async Task Cancel_of_a_finished_job_is_409_and_changes_nothing()
    {
        var type = NewType("cancel-finished");
        var worker = NewWorker("cf");
        var completedId = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync(worker, type);
        var completed = await Client.ActionAsync(completedId, "complete", WorkerApi.LeaseBody(item.Token()));

        using (var response = await Client.PostControlAsync(completedId, "cancel"))
        {
            var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.Conflict);
            Assert.Contains("completed", problem.Str("detail"), StringComparison.Ordinal);
        }

        Assert.Equal(completed.ToString(), (await Client.GetJobAsync(completedId)).ToString());

        var failedId = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var failedItem = await Client.ClaimOneAsync(worker, type);
        var failed = await Client.ActionAsync(failedId, "fail", WorkerApi.LeaseBody(failedItem.Token(), ""","error":"x","retry":false"""));
        using (var response = await Client.PostControlAsync(failedId, "cancel"))
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.Conflict);
        }

        Assert.Equal(failed.ToString(), (await Client.GetJobAsync(failedId)).ToString());
    }

    [Fact]
    public async Task Retry_of_a_failed_job_queues_it_with_the_next_attempt()
    {
        var type = NewType("retry");
        var worker = NewWorker("retry");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","max_attempts":1}""")).Str("id");
        var item = await Client.ClaimOneAsync(worker, type);
        var failed = await Client.ActionAsync(id, "fail", WorkerApi.LeaseBody(item.Token(), ""","error":"flaky network" """));
        Assert.Equal("failed", failed.Str("status"));
        Assert.Equal(1, failed.GetProperty("attempt").GetInt32());

        var retried = await Client.ControlAsync(id, "retry", actor: "ops-cy");
        Assert.Equal("queued", retried.Str("status"));
        Assert.Equal(2, retried.GetProperty("attempt").GetInt32());
        Assert.True(retried.GetProperty("max_attempts").GetInt32() >= 2, $"the retried attempt is not allowed: {retried}");
        Assert.True(retried.IsNull("completed_at"));
        Assert.True(retried.Time("run_at") <= retried.Time("updated_at"), $"a retried job is due at once: {retried}");
        var events = await Client.EventsAsync(id);
        Assert.Contains(events, e => e.Str("type") == "retried" && e.Str("actor") == "ops-cy");

        var again = await Client.ClaimOneAsync(worker, type);
        Assert.Equal(id, again.Str("id"));
        Assert.Equal(2, again.GetProperty("attempt").GetInt32());
        var done = await Client.ActionAsync(id, "complete", WorkerApi.LeaseBody(again.Token(), ""","result":"fine now" """));
        Assert.Equal("completed", done.Str("status"));
        Assert.Equal("fine now", done.Str("result"));
    }

    [Fact]
    public async Task Retry_of_a_cancelled_job_queues_it_again()
    {
        var type = NewType("retry-cancelled");
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        await Client.ControlAsync(id, "cancel");
        var retried = await Client.ControlAsync(id, "retry");
        Assert.Equal("queued", retried.Str("status"));
        Assert.Equal(2, retried.GetProperty("attempt").GetInt32());
        Assert.Equal(id, (await Client.ClaimOneAsync(NewWorker("rc"), type)).Str("id"));
    }

    [Fact]
    public async Task Retry_of_a_completed_queued_or_running_job_is_409_and_changes_nothing()
    {
        var type = NewType("retry-409");
        var worker = NewWorker("r409");
        var completedId = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync(worker, type);
        var completed = await Client.ActionAsync(completedId, "complete", WorkerApi.LeaseBody(item.Token()));
        using (var response = await Client.PostControlAsync(completedId, "retry"))
        {
            var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.Conflict);
            Assert.Contains("completed", problem.Str("detail"), StringComparison.Ordinal);
        }

        Assert.Equal(completed.ToString(), (await Client.GetJobAsync(completedId)).ToString());

        var queued = await Client.CreateJobAsync($$$"""{"type":"{{{type}}}-q"}""");
        using (var response = await Client.PostControlAsync(queued.Str("id"), "retry"))
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.Conflict);
        }

        Assert.Equal(queued.ToString(), (await Client.GetJobAsync(queued.Str("id"))).ToString());

        var runningId = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        await Client.ClaimOneAsync(worker, type);
        var running = await Client.GetJobAsync(runningId);
        using (var response = await Client.PostControlAsync(runningId, "retry"))
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.Conflict);
        }

        Assert.Equal(running.ToString(), (await Client.GetJobAsync(runningId)).ToString());
    }

    [Fact]
    public async Task A_claim_that_waits_with_nothing_queued_returns_an_empty_jobs_array()
    {
        var clock = Stopwatch.StartNew();
        using var response = await Client.PostJsonAsync(WorkerApi.ClaimPath, WorkerApi.ClaimBody(NewWorker("empty"), NewType("empty"), waitSeconds: 1));
        var body = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
        clock.Stop();
        Assert.Equal("""{"jobs":[]}""", body.GetRawText());
        Assert.Equal("application/json", response.ContentType()?.MediaType);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"answered after {clock.Elapsed.TotalSeconds:0.00} s: it did not wait");
    }

    [Fact]
    public async Task A_job_whose_run_at_is_in_the_future_is_not_claimable_until_it_is_due()
    {
        var type = NewType("scheduled");
        var worker = NewWorker("sched");
        var later = await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","run_at":"{{{DateTimeOffset.UtcNow.AddHours(1):O}}}"}""");
        var soon = await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","run_at":"{{{DateTimeOffset.UtcNow.AddSeconds(3):O}}}"}""");

        Assert.Empty(await Client.ClaimAsync(worker, type, max: 10));
        Assert.Equal("queued", (await Client.GetJobAsync(soon.Str("id"))).Str("status"));

        var clock = Stopwatch.StartNew();
        var jobs = await Client.ClaimAsync(worker, type, max: 10, waitSeconds: 10);
        clock.Stop();
        var job = Assert.Single(jobs);
        Assert.Equal(soon.Str("id"), job.Str("id"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the claim took {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True((await Client.GetJobAsync(soon.Str("id"))).Time("started_at") >= soon.Time("run_at"), "claimed before its run_at");
        Assert.Equal(later.ToString(), (await Client.GetJobAsync(later.Str("id"))).ToString());
    }

    [Fact]
    public async Task Claims_take_higher_priority_first_and_at_most_max_and_only_the_given_types()
    {
        var type = NewType("priority");
        var other = NewType("priority-other");
        var worker = NewWorker("prio");
        var ids = new Dictionary<int, string>();
        foreach (var priority in new[] { 1, 10, -3, 5, 0 })
        {
            ids[priority] = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","priority":{{{priority}}}}""")).Str("id");
        }

        var otherId = (await Client.CreateJobAsync($$$"""{"type":"{{{other}}}","priority":100}""")).Str("id");

        var claimed = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            claimed.Add((await Client.ClaimOneAsync(worker, type)).Str("id"));
        }

        Assert.Equal(new[] { 10, 5, 1, 0, -3 }.Select(p => ids[p]), claimed);
        Assert.Empty(await Client.ClaimAsync(worker, type, max: 10));
        Assert.Equal("queued", (await Client.GetJobAsync(otherId)).Str("status"));

        // A batch takes at most max, highest priorities first; several types in one claim.
        var batchType = NewType("batch");
        var batch = new Dictionary<string, int>();
        for (var priority = 0; priority < 5; priority++)
        {
            batch[(await Client.CreateJobAsync($$$"""{"type":"{{{batchType}}}","priority":{{{priority}}}}""")).Str("id")] = priority;
        }

        var firstBatch = await Client.ClaimAsync(worker, batchType, max: 3);
        Assert.Equal([2, 3, 4], firstBatch.Select(j => batch[j.Str("id")]).Order());
        var rest = await Client.ClaimAsync($$$"""{"worker_id":"{{{worker}}}","types":["{{{batchType}}}","{{{other}}}"],"max":10}""");
        Assert.Equal(new[] { otherId }.Concat(batch.Where(b => b.Value < 2).Select(b => b.Key)).Order(), rest.Select(j => j.Str("id")).Order());

        // Over several types, max caps the whole batch and priority decides across types.
        var low = NewType("low");
        var high = NewType("high");
        for (var i = 0; i < 3; i++)
        {
            await Client.CreateJobAsync($$$"""{"type":"{{{low}}}","priority":0}""");
            await Client.CreateJobAsync($$$"""{"type":"{{{high}}}","priority":9}""");
        }

        var mixed = await Client.ClaimAsync($$$"""{"worker_id":"{{{worker}}}","types":["{{{low}}}","{{{high}}}"],"max":4}""");
        Assert.Equal([high, high, high, low], mixed.Select(j => j.Str("type")).OrderBy(t => t == low));
    }

    [Fact]
    public async Task Eight_parallel_claimers_over_500_jobs_claim_each_exactly_once()
    {
        const int JobCount = 500;
        const int Claimers = 8;
        var type = NewType("parallel");
        var created = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, JobCount), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            created.Add((await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","input":{"n":{{{i}}}}}""")).Str("id")));

        var claims = new ConcurrentQueue<(int Claimer, string Id)>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var claimers = Enumerable.Range(0, Claimers).Select(c => Task.Run(async () =>
        {
            await gate.Task;
            var worker = $"parallel-{c}";
            var rounds = 0;
            while (true)
            {
                Assert.True(++rounds <= JobCount, "the claimers do not run out of work");
                var jobs = await Client.ClaimAsync(worker, type, max: 7, leaseSeconds: 300);
                if (jobs.Count == 0)
                {
                    return;
                }

                foreach (var job in jobs)
                {
                    claims.Enqueue((c, job.Str("id")));
                    using var response = await Client.PostActionAsync(job.Str("id"), "complete", WorkerApi.LeaseBody(job.Token(), $$""","result":{"by":{{c}}}"""));
                    await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
                }
            }
        })).ToList();
        gate.SetResult();
        await Task.WhenAll(claimers).WaitAsync(TimeSpan.FromSeconds(60));

        var claimedIds = claims.Select(c => c.Id).ToList();
        var duplicates = claimedIds.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"{duplicates.Count} jobs were claimed more than once, e.g. {string.Join(", ", duplicates.Take(5))}");
        Assert.Equal(created.Order(), claimedIds.Order());
        Assert.True(claims.Select(c => c.Claimer).Distinct().Count() > 1, "one claimer took every job: the claims did not run in parallel");

        var page = await Client.GetJsonAsync($"{Api.Jobs}?type={type}&status=completed&limit=1000");
        Assert.Equal(JobCount, page.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task OpenApi_document_lists_the_worker_cancel_and_retry_routes()
    {
        var document = await Client.GetJsonAsync("/openapi/v1.json");
        var paths = document.GetProperty("paths");
        foreach (var path in new[]
                 {
                     "/api/v1/workers/claim", "/api/v1/jobs/{id}/heartbeat", "/api/v1/jobs/{id}/progress", "/api/v1/jobs/{id}/complete",
                     "/api/v1/jobs/{id}/fail", "/api/v1/jobs/{id}/release", "/api/v1/jobs/{id}/cancel", "/api/v1/jobs/{id}/retry",
                 })
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"the OpenAPI document has no path {path}");
            Assert.True(item.TryGetProperty("post", out var post), $"{path} has no post operation");
            Assert.True(post.TryGetProperty("responses", out var responses) && responses.TryGetProperty("200", out _), $"{path} documents no 200");
            if (path != "/api/v1/jobs/{id}/cancel" && path != "/api/v1/jobs/{id}/retry")
            {
                Assert.True(post.TryGetProperty("requestBody", out _), $"{path} documents no request body");
            }
        }

        var claim = paths.GetProperty("/api/v1/workers/claim").GetProperty("post");
        Assert.Equal("ClaimJobs", claim.Str("operationId"));
    }
}
