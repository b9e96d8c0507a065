using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Core.Tests;

public class JobTransitionsTests
{
    private const string Worker = "worker-a";
    private const string Token = "lease-1";
    private static readonly DateTimeOffset Now = TestJobs.T0.AddMinutes(5);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    /// <summary>A job claimed by <see cref="Worker"/> at <see cref="Now"/> under <see cref="Token"/> (version 2).</summary>
    private static Job Running(int attempt = 1, int maxAttempts = 3) =>
        JobTransitions.Claim(TestJobs.Queued() with { Attempt = attempt, MaxAttempts = maxAttempts }, Worker, Token, Now + Lease, Now).Job;

    private static JobError Boom => new() { Message = "boom", Code = "exception" };

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static JsonElement Data(JobEvent e) => e.Data ?? throw new InvalidOperationException($"Event {e.Type} has no data.");

    private static void AssertNoLease(Job job)
    {
        Assert.Null(job.LeaseOwner);
        Assert.Null(job.LeaseToken);
        Assert.Null(job.LeaseExpiresAt);
        if (!job.Status.IsTerminal())
        {
            Assert.Null(job.CancelRequestedAt);
        }
    }

    private static void AssertStatusEvent(JobEvent e, JobStatus from, JobStatus to, long version, string? reason = null, int? attempt = null)
    {
        Assert.Equal(JobEventTypes.StatusChanged, e.Type);
        Assert.Equal(version, e.Version);
        var data = Data(e);
        Assert.Equal(from.ToName(), data.GetProperty("from").GetString());
        Assert.Equal(to.ToName(), data.GetProperty("to").GetString());
        if (reason is not null)
        {
            Assert.Equal(reason, data.GetProperty("reason").GetString());
        }

        if (attempt is not null)
        {
            Assert.Equal(attempt, data.GetProperty("attempt").GetInt32());
        }
    }

    // ---- Claim ----

    [Fact]
    public void Claim_starts_a_queued_job_under_a_new_lease()
    {
        var queued = TestJobs.Queued() with { Attempt = 2, CompletedAt = TestJobs.T0 };
        var change = JobTransitions.Claim(queued, Worker, Token, Now + Lease, Now);
        var job = change.Job;

        Assert.Equal(JobStatus.Running, job.Status);
        Assert.Equal(Worker, job.LeaseOwner);
        Assert.Equal(Token, job.LeaseToken);
        Assert.Equal(Now + Lease, job.LeaseExpiresAt);
        Assert.Null(job.CancelRequestedAt);
        Assert.Equal(Now, job.StartedAt);
        Assert.Null(job.CompletedAt);
        Assert.Equal(Now, job.UpdatedAt);
        Assert.Equal(2, job.Attempt);
        Assert.Equal(2, job.Version);
        Assert.Equal(1, change.ExpectedVersion);
        Assert.False(change.LabelsChanged);

        var e = Assert.Single(change.Events);
        AssertStatusEvent(e, JobStatus.Queued, JobStatus.Running, 2, attempt: 2);
        Assert.Equal(Worker, e.Actor);
        Assert.Equal(Worker, Data(e).GetProperty("worker").GetString());
        Assert.Equal(Now, e.At);
        Assert.Equal(queued.Id, e.JobId);
    }

    [Theory]
    [InlineData(JobStatus.Running)]
    [InlineData(JobStatus.Waiting)]
    [InlineData(JobStatus.Completed)]
    [InlineData(JobStatus.Failed)]
    [InlineData(JobStatus.Cancelled)]
    public void Claim_is_refused_unless_the_job_is_queued(JobStatus status)
    {
        var job = TestJobs.Queued() with { Status = status };
        Assert.Throws<InvalidTransitionException>(() => JobTransitions.Claim(job, Worker, Token, Now + Lease, Now));
    }

    // ---- EnsureLease ----

    [Fact]
    public void EnsureLease_accepts_only_the_current_token_of_a_running_job()
    {
        var running = Running();
        JobTransitions.EnsureLease(running, Token);

        Assert.Throws<LeaseLostException>(() => JobTransitions.EnsureLease(running, "other"));
        Assert.Throws<LeaseLostException>(() => JobTransitions.EnsureLease(running, Token.ToUpperInvariant()));
        Assert.Throws<LeaseLostException>(() => JobTransitions.EnsureLease(running, ""));
        Assert.Throws<LeaseLostException>(() => JobTransitions.EnsureLease(running with { LeaseToken = null }, Token));
        foreach (var status in new[] { JobStatus.Queued, JobStatus.Waiting, JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled })
        {
            var error = Assert.Throws<LeaseLostException>(() => JobTransitions.EnsureLease(running with { Status = status }, Token));
            Assert.Equal(running.Id, error.JobId);
        }
    }

    // ---- Heartbeat ----

    [Fact]
    public void Heartbeat_extends_the_lease_without_an_event()
    {
        var running = Running();
        var later = Now.AddSeconds(10);
        var change = JobTransitions.Heartbeat(running, Token, Lease, later)!;

        Assert.Equal(later + Lease, change.Job.LeaseExpiresAt);
        Assert.Equal(later, change.Job.UpdatedAt);
        Assert.Equal(running.Version + 1, change.Job.Version);
        Assert.Equal(running.Version, change.ExpectedVersion);
        Assert.Equal(JobStatus.Running, change.Job.Status);
        Assert.Equal(Token, change.Job.LeaseToken);
        Assert.Empty(change.Events);
    }

    [Fact]
    public void Heartbeat_that_would_not_extend_the_lease_changes_nothing()
    {
        var running = Running();
        Assert.Null(JobTransitions.Heartbeat(running, Token, Lease, Now));
        Assert.Null(JobTransitions.Heartbeat(running, Token, Lease - TimeSpan.FromSeconds(1), Now));
    }

    [Fact]
    public void Heartbeat_after_a_cancel_request_does_not_extend_the_lease()
    {
        var cancelling = JobTransitions.Cancel(Running(), Now, Grace, "alice")!.Job;
        var later = Now.AddSeconds(1);
        Assert.Null(JobTransitions.Heartbeat(cancelling, Token, Lease, later));
    }

    [Fact]
    public void Heartbeat_without_the_current_lease_is_refused()
    {
        var running = Running();
        Assert.Throws<LeaseLostException>(() => JobTransitions.Heartbeat(running, "stale", Lease + Lease, Now));
        Assert.Throws<LeaseLostException>(() => JobTransitions.Heartbeat(TestJobs.Queued(), Token, Lease, Now));
        Assert.Throws<LeaseLostException>(() => JobTransitions.Heartbeat(running with { Status = JobStatus.Completed }, Token, Lease + Lease, Now));
    }

    [Fact]
    public void Heartbeat_without_a_length_renews_for_the_length_the_claim_asked_for()
    {
        var claimed = JobTransitions.Claim(TestJobs.Queued(), Worker, Token, Now.AddSeconds(120), Now).Job;
        var later = Now.AddSeconds(40);

        var renewed = JobTransitions.Heartbeat(claimed, Token, null, later)!.Job;

        Assert.Equal(TimeSpan.FromSeconds(120), claimed.LeaseDuration);
        Assert.Equal(later.AddSeconds(120), renewed.LeaseExpiresAt);
    }

    [Fact]
    public void A_length_given_to_a_heartbeat_becomes_the_jobs_lease_length()
    {
        var later = Now.AddSeconds(10);
        var renewed = JobTransitions.Heartbeat(Running(), Token, TimeSpan.FromSeconds(300), later)!.Job;
        var progressed = JobTransitions.Progress(renewed, Token, new ProgressPatch { Fraction = 0.1 }, null, later.AddSeconds(100))!.Job;

        Assert.Equal(TimeSpan.FromSeconds(300), renewed.LeaseDuration);
        Assert.Equal(later.AddSeconds(400), progressed.LeaseExpiresAt);
    }

    [Fact]
    public void A_lease_found_expired_fails_the_job_when_nothing_runs_its_type()
    {
        var running = Running();
        var change = JobTransitions.ExpireLease(running, Token, Now + Lease, canRun: false)!;

        Assert.Equal(JobStatus.Failed, change.Job.Status);
        Assert.Equal(JobErrorCodes.NoRunner, change.Job.Error!.Code);
        Assert.Equal([JobEventTypes.LeaseExpired, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
    }

    [Fact]
    public void A_driver_stopping_cleanly_queues_its_job_again_or_fails_it_as_interrupted()
    {
        var running = Running();

        var released = JobTransitions.DriverStopped(running, Token, canRun: true, Now).Job;
        Assert.Equal(JobStatus.Queued, released.Status);
        Assert.Equal(running.Attempt, released.Attempt);

        var interrupted = JobTransitions.DriverStopped(running, Token, canRun: false, Now).Job;
        Assert.Equal(JobStatus.Failed, interrupted.Status);
        Assert.Equal(JobErrorCodes.Interrupted, interrupted.Error!.Code);
        Assert.Throws<LeaseLostException>(() => JobTransitions.DriverStopped(running, "stale", canRun: false, Now));
    }

    // ---- Progress ----

    [Fact]
    public void Progress_records_the_progress_and_extends_the_lease()
    {
        var running = Running();
        var later = Now.AddSeconds(5);
        var change = JobTransitions.Progress(running, Token, new ProgressPatch { Fraction = 0.25, Stage = "decode" }, Lease, later)!;

        Assert.Equal(new JobProgress { Fraction = 0.25, Stage = "decode" }, change.Job.Progress);
        Assert.Equal(later + Lease, change.Job.LeaseExpiresAt);
        Assert.Equal(Token, change.Job.LeaseToken);
        Assert.Equal(JobStatus.Running, change.Job.Status);
        Assert.Equal(running.Version + 1, change.Job.Version);
        Assert.Equal(running.Version, change.ExpectedVersion);
        Assert.Equal([JobEventTypes.StageChanged, JobEventTypes.Updated], change.Events.Select(e => e.Type));
        Assert.All(change.Events, e => Assert.Equal(change.Job.Version, e.Version));
        Assert.All(change.Events, e => Assert.Equal(Worker, e.Actor));
    }

    [Fact]
    public void Progress_that_changes_nothing_still_extends_the_lease_or_is_no_change()
    {
        var running = JobTransitions.Progress(Running(), Token, new ProgressPatch { Fraction = 0.5 }, Lease, Now)!.Job;
        var later = Now.AddSeconds(5);

        var heartbeat = JobTransitions.Progress(running, Token, new ProgressPatch { Fraction = 0.5 }, Lease, later)!;
        Assert.Equal(later + Lease, heartbeat.Job.LeaseExpiresAt);
        Assert.Equal(running.Version + 1, heartbeat.Job.Version);
        Assert.Empty(heartbeat.Events);

        Assert.Null(JobTransitions.Progress(running, Token, new ProgressPatch { Fraction = 0.5 }, Lease - TimeSpan.FromSeconds(5), later));
    }

    [Fact]
    public void Progress_after_a_cancel_request_is_recorded_but_does_not_extend_the_lease()
    {
        var cancelling = JobTransitions.Cancel(Running(), Now, Grace, "alice")!.Job;
        var later = Now.AddSeconds(1);
        var change = JobTransitions.Progress(cancelling, Token, new ProgressPatch { Fraction = 0.9 }, Lease, later)!;

        Assert.Equal(0.9, change.Job.Progress!.Fraction);
        Assert.Equal(Now + Grace, change.Job.LeaseExpiresAt);
        Assert.Equal(cancelling.CancelRequestedAt, change.Job.CancelRequestedAt);
    }

    [Fact]
    public void Progress_without_the_current_lease_is_refused()
    {
        Assert.Throws<LeaseLostException>(() =>
            JobTransitions.Progress(Running(), "stale", new ProgressPatch { Fraction = 0.5 }, Lease, Now));
        Assert.Throws<LeaseLostException>(() =>
            JobTransitions.Progress(TestJobs.Queued(), Token, new ProgressPatch { Fraction = 0.5 }, Lease, Now));
    }

    // ---- Complete ----

    [Fact]
    public void Complete_ends_the_job_with_its_result_and_clears_the_lease()
    {
        var running = Running() with { Error = Boom };
        var later = Now.AddSeconds(20);
        var change = JobTransitions.Complete(running, Token, Json("""{"score":0.9}"""), later);
        var job = change.Job;

        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal(0.9, job.Result!.Value.GetProperty("score").GetDouble());
        Assert.Null(job.Error);
        Assert.Equal(later, job.CompletedAt);
        Assert.Equal(Now, job.StartedAt);
        Assert.Equal(1, job.Attempt);
        AssertNoLease(job);
        Assert.Equal(running.Version + 1, job.Version);
        Assert.Equal(running.Version, change.ExpectedVersion);
        var e = Assert.Single(change.Events);
        AssertStatusEvent(e, JobStatus.Running, JobStatus.Completed, job.Version, attempt: 1);
        Assert.Equal(Worker, e.Actor);
    }

    [Fact]
    public void Complete_with_a_null_result_stores_no_result()
    {
        Assert.Null(JobTransitions.Complete(Running(), Token, null, Now).Job.Result);
        Assert.Null(JobTransitions.Complete(Running(), Token, Json("null"), Now).Job.Result);
    }

    [Fact]
    public void Complete_after_a_cancel_request_ends_cancelled_and_discards_the_result()
    {
        var cancelling = JobTransitions.Cancel(Running(), Now, Grace, "alice")!.Job;
        var later = Now.AddSeconds(2);
        var change = JobTransitions.Complete(cancelling, Token, Json("""{"late":true}"""), later);

        Assert.Equal(JobStatus.Cancelled, change.Job.Status);
        Assert.Null(change.Job.Result);
        Assert.Equal(later, change.Job.CompletedAt);
        AssertNoLease(change.Job);
        Assert.Equal(Now, change.Job.CancelRequestedAt);
        Assert.Equal(cancelling.Version + 1, change.Job.Version);
        AssertStatusEvent(Assert.Single(change.Events), JobStatus.Running, JobStatus.Cancelled, change.Job.Version);
    }

    [Fact]
    public void Complete_without_the_current_lease_is_refused()
    {
        Assert.Throws<LeaseLostException>(() => JobTransitions.Complete(Running(), "stale", null, Now));
        var done = JobTransitions.Complete(Running(), Token, null, Now).Job;
        Assert.Throws<LeaseLostException>(() => JobTransitions.Complete(done, Token, null, Now));
    }

    // ---- Fail ----

    [Fact]
    public void Fail_with_attempts_left_queues_the_next_attempt_after_the_backoff()
    {
        var running = Running(attempt: 1, maxAttempts: 3);
        var later = Now.AddSeconds(3);
        var delay = TimeSpan.FromSeconds(8);
        var change = JobTransitions.Fail(running, Token, Boom, delay, later);
        var job = change.Job;

        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(2, job.Attempt);
        Assert.Equal(3, job.MaxAttempts);
        Assert.Equal(later + delay, job.RunAt);
        Assert.Equal(Boom, job.Error);
        Assert.Null(job.CompletedAt);
        AssertNoLease(job);
        Assert.Equal(running.Version + 1, job.Version);
        var e = Assert.Single(change.Events);
        AssertStatusEvent(e, JobStatus.Running, JobStatus.Queued, job.Version, reason: "retry", attempt: 2);
        var data = Data(e);
        Assert.Equal(Worker, data.GetProperty("worker").GetString());
        Assert.Equal(later + delay, data.GetProperty("run_at").GetDateTimeOffset());
        Assert.Equal("boom", data.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public void Fail_without_retry_ends_failed_at_the_same_attempt()
    {
        var running = Running(attempt: 1, maxAttempts: 3);
        var change = JobTransitions.Fail(running, Token, Boom, null, Now.AddSeconds(1));

        Assert.Equal(JobStatus.Failed, change.Job.Status);
        Assert.Equal(1, change.Job.Attempt);
        Assert.Equal(Boom, change.Job.Error);
        Assert.Equal(Now.AddSeconds(1), change.Job.CompletedAt);
        AssertNoLease(change.Job);
        var e = Assert.Single(change.Events);
        AssertStatusEvent(e, JobStatus.Running, JobStatus.Failed, change.Job.Version, attempt: 1);
        Assert.Equal("exception", Data(e).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public void Fail_with_the_attempts_spent_ends_failed_even_when_a_retry_is_asked()
    {
        var running = Running(attempt: 3, maxAttempts: 3);
        var change = JobTransitions.Fail(running, Token, Boom, TimeSpan.FromSeconds(1), Now);

        Assert.Equal(JobStatus.Failed, change.Job.Status);
        Assert.Equal(3, change.Job.Attempt);
        Assert.Equal(Boom, change.Job.Error);
        AssertNoLease(change.Job);
    }

    [Fact]
    public void Fail_after_a_cancel_request_ends_cancelled()
    {
        var cancelling = JobTransitions.Cancel(Running(), Now, Grace, "alice")!.Job;
        var change = JobTransitions.Fail(cancelling, Token, Boom, TimeSpan.FromSeconds(1), Now.AddSeconds(1));

        Assert.Equal(JobStatus.Cancelled, change.Job.Status);
        Assert.Equal(1, change.Job.Attempt);
        AssertNoLease(change.Job);
        Assert.Equal(Now, change.Job.CancelRequestedAt);
        AssertStatusEvent(Assert.Single(change.Events), JobStatus.Running, JobStatus.Cancelled, change.Job.Version);
    }

    [Fact]
    public void Fail_without_the_current_lease_is_refused()
    {
        Assert.Throws<LeaseLostException>(() => JobTransitions.Fail(Running(), "stale", Boom, null, Now));
        Assert.Throws<LeaseLostException>(() => JobTransitions.Fail(TestJobs.Queued(), Token, Boom, null, Now));
    }

    // ---- Release ----

    [Fact]
    public void Release_queues_the_job_at_once_in_its_old_place_and_keeps_the_attempt()
    {
        var running = Running(attempt: 2, maxAttempts: 3);
        var later = Now.AddSeconds(4);
        var change = JobTransitions.Release(running, Token, later);
        var job = change.Job;

        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(2, job.Attempt);
        Assert.Equal(running.RunAt, job.RunAt);
        Assert.True(job.RunAt <= later, "due at once");
        AssertNoLease(job);
        Assert.Equal(running.Version + 1, job.Version);

        Assert.Equal([JobEventTypes.Released, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
        Assert.All(change.Events, e => Assert.Equal(job.Version, e.Version));
        var released = Data(change.Events[0]);
        Assert.Equal(Worker, released.GetProperty("worker").GetString());
        Assert.Equal(2, released.GetProperty("attempt").GetInt32());
        Assert.Equal(Now + Lease, released.GetProperty("lease_expires_at").GetDateTimeOffset());
        AssertStatusEvent(change.Events[1], JobStatus.Running, JobStatus.Queued, job.Version, reason: "released", attempt: 2);
    }

    [Fact]
    public void Release_after_a_cancel_request_ends_cancelled()
    {
        var cancelling = JobTransitions.Cancel(Running(), Now, Grace, "alice")!.Job;
        var change = JobTransitions.Release(cancelling, Token, Now.AddSeconds(1));
        Assert.Equal(JobStatus.Cancelled, change.Job.Status);
        AssertNoLease(change.Job);
        Assert.Equal(Now, change.Job.CancelRequestedAt);
    }

    [Fact]
    public void Release_without_the_current_lease_is_refused()
    {
        Assert.Throws<LeaseLostException>(() => JobTransitions.Release(Running(), "stale", Now));
        Assert.Throws<LeaseLostException>(() => JobTransitions.Release(TestJobs.Queued(), Token, Now));
    }

    // ---- ExpireLease ----

    [Fact]
    public void An_expired_lease_with_attempts_left_is_queued_again_in_its_old_place_with_the_next_attempt()
    {
        var running = Running(attempt: 1, maxAttempts: 3);
        var at = Now + Lease + TimeSpan.FromSeconds(1);
        var change = JobTransitions.ExpireLease(running, Token, at)!;
        var job = change.Job;

        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(2, job.Attempt);
        Assert.Equal(running.RunAt, job.RunAt);
        Assert.True(job.RunAt <= at, "due at once");
        AssertNoLease(job);
        Assert.Equal(running.Version + 1, job.Version);
        Assert.Equal(running.Version, change.ExpectedVersion);

        Assert.Equal([JobEventTypes.LeaseExpired, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
        Assert.All(change.Events, e => Assert.Equal(job.Version, e.Version));
        var expired = change.Events[0];
        Assert.Equal(Worker, expired.Actor);
        Assert.Equal(1, Data(expired).GetProperty("attempt").GetInt32());
        Assert.Equal(Now + Lease, Data(expired).GetProperty("lease_expires_at").GetDateTimeOffset());
        AssertStatusEvent(change.Events[1], JobStatus.Running, JobStatus.Queued, job.Version, reason: "lease_expired", attempt: 2);
        Assert.Equal("reaper", change.Events[1].Actor);
    }

    [Fact]
    public void A_lease_is_expired_from_the_moment_it_ends()
    {
        var change = JobTransitions.ExpireLease(Running(), Token, Now + Lease);
        Assert.NotNull(change);
        Assert.Equal(JobStatus.Queued, change.Job.Status);
    }

    [Fact]
    public void An_expired_lease_on_the_last_attempt_fails_the_job()
    {
        var running = Running(attempt: 3, maxAttempts: 3);
        var at = Now + Lease + TimeSpan.FromSeconds(1);
        var change = JobTransitions.ExpireLease(running, Token, at)!;

        Assert.Equal(JobStatus.Failed, change.Job.Status);
        Assert.Equal(3, change.Job.Attempt);
        Assert.Equal("lease_expired", change.Job.Error!.Code);
        Assert.Contains(Worker, change.Job.Error.Message, StringComparison.Ordinal);
        Assert.Equal(at, change.Job.CompletedAt);
        AssertNoLease(change.Job);
        Assert.Equal([JobEventTypes.LeaseExpired, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
        Assert.All(change.Events, e => Assert.Equal(change.Job.Version, e.Version));
        AssertStatusEvent(change.Events[1], JobStatus.Running, JobStatus.Failed, change.Job.Version, attempt: 3);
    }

    [Fact]
    public void An_expired_lease_of_a_job_asked_to_cancel_ends_cancelled()
    {
        var cancelling = JobTransitions.Cancel(Running(attempt: 1, maxAttempts: 3), Now, Grace, "alice")!.Job;
        var change = JobTransitions.ExpireLease(cancelling, Token, Now + Grace)!;

        Assert.Equal(JobStatus.Cancelled, change.Job.Status);
        Assert.Equal(1, change.Job.Attempt);
        AssertNoLease(change.Job);
        Assert.Equal(Now, change.Job.CancelRequestedAt);
        Assert.Equal([JobEventTypes.LeaseExpired, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
        AssertStatusEvent(change.Events[1], JobStatus.Running, JobStatus.Cancelled, change.Job.Version);
    }

    [Fact]
    public void ExpireLease_changes_nothing_when_the_lease_was_renewed_taken_over_or_the_job_moved_on()
    {
        var running = Running();
        var at = Now + Lease + TimeSpan.FromSeconds(1);

        // Renewed after the reaper saw it expired.
        var renewed = JobTransitions.Heartbeat(running, Token, Lease, Now.AddSeconds(20))!.Job;
        Assert.Null(JobTransitions.ExpireLease(renewed, Token, at));
        // Not expired yet.
        Assert.Null(JobTransitions.ExpireLease(running, Token, Now + Lease - TimeSpan.FromTicks(10)));
        // Claimed again under another token.
        Assert.Null(JobTransitions.ExpireLease(running with { LeaseToken = "lease-2" }, Token, at));
        Assert.Null(JobTransitions.ExpireLease(running, null, at));
        // No longer running.
        Assert.Null(JobTransitions.ExpireLease(JobTransitions.Release(running, Token, Now).Job, Token, at));
        Assert.Null(JobTransitions.ExpireLease(JobTransitions.Complete(running, Token, null, Now).Job, Token, at));
        Assert.Null(JobTransitions.ExpireLease(running with { Status = JobStatus.Waiting }, Token, at));
        // Running without a lease (set by hand).
        Assert.Null(JobTransitions.ExpireLease(running with { LeaseExpiresAt = null, LeaseToken = null }, null, at));
    }

    // ---- Cancel ----

    [Theory]
    [InlineData(JobStatus.Queued)]
    [InlineData(JobStatus.Waiting)]
    public void Cancel_of_a_job_not_running_ends_it_at_once(JobStatus status)
    {
        var job = TestJobs.Queued() with { Status = status };
        var change = JobTransitions.Cancel(job, Now, Grace, "alice")!;

        Assert.Equal(JobStatus.Cancelled, change.Job.Status);
        Assert.Equal(Now, change.Job.CompletedAt);
        Assert.Null(change.Job.CancelRequestedAt);
        Assert.Equal(job.Version + 1, change.Job.Version);
        var e = Assert.Single(change.Events);
        AssertStatusEvent(e, status, JobStatus.Cancelled, change.Job.Version, reason: "cancelled");
        Assert.Equal("alice", e.Actor);
    }

    [Fact]
    public void Cancel_of_a_running_job_asks_it_to_stop_and_cuts_its_lease_to_the_grace_period()
    {
        var running = Running();
        var change = JobTransitions.Cancel(running, Now, Grace, "alice")!;
        var job = change.Job;

        Assert.Equal(JobStatus.Running, job.Status);
        Assert.Equal(Now, job.CancelRequestedAt);
        Assert.Equal(Now + Grace, job.LeaseExpiresAt);
        Assert.Equal(Token, job.LeaseToken);
        Assert.Equal(Worker, job.LeaseOwner);
        Assert.Equal(running.Version + 1, job.Version);
        var e = Assert.Single(change.Events);
        Assert.Equal(JobEventTypes.CancelRequested, e.Type);
        Assert.Equal("alice", e.Actor);
        Assert.Equal(job.Version, e.Version);
        Assert.Equal(Worker, Data(e).GetProperty("worker").GetString());
    }

    [Fact]
    public void Cancel_never_lengthens_a_lease_that_ends_before_the_grace_period()
    {
        var running = Running();
        var nearEnd = Now + Lease - TimeSpan.FromSeconds(2);
        var change = JobTransitions.Cancel(running, nearEnd, Grace, "alice")!;
        Assert.Equal(Now + Lease, change.Job.LeaseExpiresAt);
    }

    [Fact]
    public void Cancel_of_a_running_job_without_a_lease_ends_it_at_once()
    {
        var byHand = TestJobs.Queued() with { Status = JobStatus.Running };
        var change = JobTransitions.Cancel(byHand, Now, Grace, "alice")!;
        Assert.Equal(JobStatus.Cancelled, change.Job.Status);
    }

    [Fact]
    public void Cancel_is_idempotent()
    {
        var cancelled = JobTransitions.Cancel(TestJobs.Queued(), Now, Grace, "alice")!.Job;
        Assert.Null(JobTransitions.Cancel(cancelled, Now.AddSeconds(1), Grace, "bob"));

        var cancelling = JobTransitions.Cancel(Running(), Now, Grace, "alice")!.Job;
        Assert.Null(JobTransitions.Cancel(cancelling, Now.AddSeconds(1), Grace, "bob"));
    }

    [Theory]
    [InlineData(JobStatus.Completed)]
    [InlineData(JobStatus.Failed)]
    public void Cancel_of_a_finished_job_is_a_conflict(JobStatus status)
    {
        var job = TestJobs.Queued() with { Status = status };
        Assert.Throws<JobStateConflictException>(() => JobTransitions.Cancel(job, Now, Grace, "alice"));
    }

    // ---- Retry ----

    [Fact]
    public void Retry_of_a_failed_job_queues_the_next_attempt_now()
    {
        var failed = JobTransitions.Fail(Running(attempt: 1, maxAttempts: 3), Token, Boom, null, Now).Job;
        var later = Now.AddMinutes(1);
        var change = JobTransitions.Retry(failed, later, "alice");
        var job = change.Job;

        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.Equal(2, job.Attempt);
        Assert.Equal(3, job.MaxAttempts);
        Assert.Equal(later, job.RunAt);
        Assert.Null(job.CompletedAt);
        AssertNoLease(job);
        Assert.Equal(failed.Version + 1, job.Version);
        Assert.Equal(failed.Version, change.ExpectedVersion);

        Assert.Equal([JobEventTypes.Retried, JobEventTypes.StatusChanged], change.Events.Select(e => e.Type));
        Assert.All(change.Events, e => Assert.Equal(job.Version, e.Version));
        Assert.All(change.Events, e => Assert.Equal("alice", e.Actor));
        Assert.Equal(2, Data(change.Events[0]).GetProperty("attempt").GetInt32());
        AssertStatusEvent(change.Events[1], JobStatus.Failed, JobStatus.Queued, job.Version, reason: "retried", attempt: 2);
    }

    [Fact]
    public void Retry_with_the_attempts_spent_raises_max_attempts_to_allow_one_more()
    {
        var failed = JobTransitions.Fail(Running(attempt: 3, maxAttempts: 3), Token, Boom, TimeSpan.FromSeconds(1), Now).Job;
        Assert.Equal(JobStatus.Failed, failed.Status);

        var job = JobTransitions.Retry(failed, Now, "alice").Job;
        Assert.Equal(4, job.Attempt);
        Assert.Equal(4, job.MaxAttempts);
    }

    [Fact]
    public void Retry_of_a_cancelled_job_queues_it_again()
    {
        var cancelled = JobTransitions.Cancel(TestJobs.Queued(), Now, Grace, "alice")!.Job;
        var change = JobTransitions.Retry(cancelled, Now.AddSeconds(1), "alice");
        Assert.Equal(JobStatus.Queued, change.Job.Status);
        Assert.Equal(2, change.Job.Attempt);
        AssertStatusEvent(change.Events[1], JobStatus.Cancelled, JobStatus.Queued, change.Job.Version, reason: "retried", attempt: 2);
    }

    [Theory]
    [InlineData(JobStatus.Queued)]
    [InlineData(JobStatus.Running)]
    [InlineData(JobStatus.Waiting)]
    [InlineData(JobStatus.Completed)]
    public void Retry_is_refused_unless_the_job_failed_or_was_cancelled(JobStatus status)
    {
        var job = TestJobs.Queued() with { Status = status };
        Assert.Throws<JobStateConflictException>(() => JobTransitions.Retry(job, Now, "alice"));
    }

    // ---- A whole life ----

    [Fact]
    public void Versions_and_events_stay_in_step_through_a_life_of_retries()
    {
        var job = TestJobs.Queued() with { MaxAttempts = 2 };
        var versions = new List<long> { job.Version };
        var t = Now;

        job = Step(JobTransitions.Claim(job, Worker, "a", t + Lease, t));
        job = Step(JobTransitions.Fail(job, "a", Boom, TimeSpan.FromSeconds(1), t));
        Assert.Equal((JobStatus.Queued, 2), (job.Status, job.Attempt));
        t = t.AddSeconds(2);
        job = Step(JobTransitions.Claim(job, Worker, "b", t + Lease, t));
        Assert.Throws<LeaseLostException>(() => JobTransitions.Complete(job, "a", null, t));
        job = Step(JobTransitions.Fail(job, "b", Boom, TimeSpan.FromSeconds(1), t));
        Assert.Equal((JobStatus.Failed, 2), (job.Status, job.Attempt));
        job = Step(JobTransitions.Retry(job, t, "alice"));
        job = Step(JobTransitions.Claim(job, Worker, "c", t + Lease, t));
        job = Step(JobTransitions.Complete(job, "c", Json("1"), t));
        Assert.Equal((JobStatus.Completed, 3, 3), (job.Status, job.Attempt, job.MaxAttempts));
        Assert.Equal(Enumerable.Range(1, versions.Count).Select(v => (long)v), versions);

        Job Step(JobReplacement change)
        {
            Assert.Equal(versions[^1], change.ExpectedVersion);
            Assert.Equal(versions[^1] + 1, change.Job.Version);
            Assert.All(change.Events, e => Assert.Equal(change.Job.Version, e.Version));
            versions.Add(change.Job.Version);
            return change.Job;
        }
    }
}
