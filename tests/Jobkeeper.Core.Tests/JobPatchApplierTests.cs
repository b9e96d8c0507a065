using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

public class JobPatchApplierTests
{
    private static readonly DateTimeOffset Now = TestJobs.T0.AddMinutes(5);
    private static readonly AppLease App = new("app-1", "token-1", TimeSpan.FromMinutes(30));

    [Fact]
    public void An_empty_or_unchanged_patch_is_no_change()
    {
        var job = TestJobs.Queued();
        Assert.Null(JobPatchApplier.Apply(job, new JobPatch(), Now, "t"));
        Assert.Null(JobPatchApplier.Apply(job, new JobPatch { Status = JobStatus.Queued }, Now, "t"));
    }

    [Fact]
    public void Starting_sets_started_at_and_finishing_sets_completed_at()
    {
        var running = JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Status = JobStatus.Running }, Now, "t", App)!;
        Assert.Equal(JobStatus.Running, running.Job.Status);
        Assert.Equal(Now, running.Job.StartedAt);
        Assert.Null(running.Job.CompletedAt);
        Assert.Equal(2, running.Job.Version);
        Assert.Equal(1, running.ExpectedVersion);
        Assert.Equal(Now, running.Job.UpdatedAt);

        var later = Now.AddSeconds(30);
        var done = JobPatchApplier.Apply(running.Job, new JobPatch { Status = JobStatus.Completed }, later, "t")!;
        Assert.Equal(later, done.Job.CompletedAt);
        Assert.Equal(Now, done.Job.StartedAt);
        Assert.Equal(3, done.Job.Version);
    }

    [Fact]
    public void An_illegal_transition_is_refused()
    {
        var done = TestJobs.Queued() with { Status = JobStatus.Completed };
        Assert.Throws<InvalidTransitionException>(() => JobPatchApplier.Apply(done, new JobPatch { Status = JobStatus.Running }, Now, "t", App));
    }

    [Fact]
    public void Progress_merges_member_by_member_and_a_stage_change_is_an_event()
    {
        var job = TestJobs.Queued() with { Progress = new JobProgress { Fraction = 0.1, Stage = "decode", Message = "reading" } };
        var change = JobPatchApplier.Apply(job, new JobPatch { Progress = new ProgressPatch { Fraction = 0.5, Message = new Optional<string?>(true, null) } }, Now, "t")!;
        Assert.Equal(new JobProgress { Fraction = 0.5, Stage = "decode", Message = null }, change.Job.Progress);
        Assert.DoesNotContain(change.Events, e => e.Type == JobEventTypes.StageChanged);

        var staged = JobPatchApplier.Apply(change.Job, new JobPatch { Progress = new ProgressPatch { Stage = "analyse" } }, Now, "alice")!;
        var stageEvent = Assert.Single(staged.Events, e => e.Type == JobEventTypes.StageChanged);
        Assert.Equal("alice", stageEvent.Actor);
        Assert.Equal("decode", stageEvent.Data!.Value.GetProperty("from").GetString());
        Assert.Equal("analyse", stageEvent.Data!.Value.GetProperty("to").GetString());
    }

    [Fact]
    public void Progress_of_a_finished_job_cannot_change()
    {
        var done = TestJobs.Queued() with { Status = JobStatus.Failed };
        Assert.Throws<JobStateConflictException>(() =>
            JobPatchApplier.Apply(done, new JobPatch { Progress = new ProgressPatch { Fraction = 0.2 } }, Now, "t"));
    }

    [Fact]
    public void Labels_merge_and_null_removes_one()
    {
        var job = TestJobs.Queued() with { Labels = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } };
        var change = JobPatchApplier.Apply(job, new JobPatch { Labels = new Dictionary<string, string?> { ["b"] = null, ["c"] = "3", ["a"] = "1" } }, Now, "t")!;
        Assert.True(change.LabelsChanged);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["c"] = "3" }, change.Job.Labels);
    }

    [Fact]
    public void Events_record_the_status_change_and_the_fields_touched()
    {
        var change = JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch
        {
            Status = JobStatus.Running,
            Result = new Optional<JsonElement?>(true, JsonDocument.Parse("{\"x\":1}").RootElement),
        }, Now, "bob", App)!;

        Assert.Equal([JobEventTypes.StatusChanged, JobEventTypes.Updated], change.Events.Select(e => e.Type));
        Assert.All(change.Events, e => Assert.Equal(2, e.Version));
        var status = change.Events[0].Data!.Value;
        Assert.Equal("queued", status.GetProperty("from").GetString());
        Assert.Equal("running", status.GetProperty("to").GetString());
        var fields = change.Events[1].Data!.Value.GetProperty("fields").EnumerateArray().Select(f => f.GetString());
        Assert.Equal(["status", "result"], fields);
    }

    // ---- App-driven leases: every way into running gives an owner and a lease; updates renew it ----

    [Fact]
    public void Setting_a_job_running_gives_it_the_owner_token_and_default_lease()
    {
        var running = JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Status = JobStatus.Running }, Now, "t", App)!.Job;

        Assert.Equal("app-1", running.LeaseOwner);
        Assert.Equal("token-1", running.LeaseToken);
        Assert.Equal(App.Duration, running.LeaseDuration);
        Assert.Equal(Now + App.Duration, running.LeaseExpiresAt);
    }

    [Fact]
    public void Setting_a_job_running_with_a_lease_uses_that_lease()
    {
        var running = JobPatchApplier.Apply(TestJobs.Queued(),
            new JobPatch { Status = JobStatus.Running, Lease = TimeSpan.FromSeconds(90) }, Now, "t", App)!.Job;

        Assert.Equal(TimeSpan.FromSeconds(90), running.LeaseDuration);
        Assert.Equal(Now.AddSeconds(90), running.LeaseExpiresAt);
    }

    [Fact]
    public void Setting_a_job_running_without_lease_terms_is_a_programming_error()
    {
        Assert.Throws<InvalidOperationException>(() => JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Status = JobStatus.Running }, Now, "t"));
    }

    [Fact]
    public void An_update_of_a_running_job_renews_its_lease_for_its_own_length()
    {
        var running = JobPatchApplier.Apply(TestJobs.Queued(),
            new JobPatch { Status = JobStatus.Running, Lease = TimeSpan.FromSeconds(60) }, Now, "t", App)!.Job;
        var later = Now.AddSeconds(40);

        var progressed = JobPatchApplier.Apply(running, new JobPatch { Progress = new ProgressPatch { Fraction = 0.5 } }, later,
            "t", App with { Token = "other" })!.Job;

        Assert.Equal(later.AddSeconds(60), progressed.LeaseExpiresAt);
        Assert.Equal("token-1", progressed.LeaseToken);
        Assert.Equal("app-1", progressed.LeaseOwner);
    }

    [Fact]
    public void An_update_that_changes_nothing_else_still_renews_without_an_event()
    {
        var running = JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Status = JobStatus.Running }, Now, "t", App)!.Job;
        var later = Now.AddMinutes(10);

        var renewed = JobPatchApplier.Apply(running, new JobPatch { Status = JobStatus.Running }, later, "t", App)!;

        Assert.Equal(later + App.Duration, renewed.Job.LeaseExpiresAt);
        Assert.Equal(running.Version + 1, renewed.Job.Version);
        Assert.Empty(renewed.Events);
    }

    [Fact]
    public void Lease_seconds_sets_the_lease_of_a_running_job_exactly()
    {
        var running = JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Status = JobStatus.Running }, Now, "t", App)!.Job;
        var later = Now.AddSeconds(5);

        var shorter = JobPatchApplier.Apply(running, new JobPatch { Lease = TimeSpan.FromSeconds(20) }, later, "t", App)!.Job;

        Assert.Equal(later.AddSeconds(20), shorter.LeaseExpiresAt);
        Assert.Equal(TimeSpan.FromSeconds(20), shorter.LeaseDuration);
    }

    [Fact]
    public void Lease_seconds_on_a_job_that_is_not_running_is_refused()
    {
        Assert.Throws<JobStateConflictException>(() =>
            JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Lease = TimeSpan.FromSeconds(20) }, Now, "t", App));
        var running = JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Status = JobStatus.Running }, Now, "t", App)!.Job;
        var error = Assert.Throws<JobValidationException>(() =>
            JobPatchApplier.Apply(running, new JobPatch { Status = JobStatus.Completed, Lease = TimeSpan.FromSeconds(20) }, Now, "t", App));
        Assert.Equal("lease_seconds", error.Field);
    }

    [Fact]
    public void Finishing_an_app_driven_job_ends_its_lease()
    {
        var running = JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Status = JobStatus.Running }, Now, "t", App)!.Job;
        var done = JobPatchApplier.Apply(running, new JobPatch { Status = JobStatus.Completed }, Now, "t", App)!.Job;

        Assert.Null(done.LeaseOwner);
        Assert.Null(done.LeaseToken);
        Assert.Null(done.LeaseExpiresAt);
        Assert.Null(done.LeaseDuration);
    }

    [Fact]
    public void An_app_driven_lease_that_expires_is_recovered_like_a_workers()
    {
        var running = JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Status = JobStatus.Running }, Now, "t", App)!.Job;
        var after = Now + App.Duration;

        var requeued = JobTransitions.ExpireLease(running, "token-1", after, canRun: true)!.Job;
        Assert.Equal(JobStatus.Queued, requeued.Status);
        Assert.Equal(2, requeued.Attempt);

        var failed = JobTransitions.ExpireLease(running, "token-1", after, canRun: false)!.Job;
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Equal(JobErrorCodes.NoRunner, failed.Error!.Code);
        Assert.Contains("app-1", failed.Error.Message, StringComparison.Ordinal);
    }
}
