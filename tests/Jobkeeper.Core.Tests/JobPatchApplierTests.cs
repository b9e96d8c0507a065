using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

public class JobPatchApplierTests
{
    private static readonly DateTimeOffset Now = TestJobs.T0.AddMinutes(5);

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
        var running = JobPatchApplier.Apply(TestJobs.Queued(), new JobPatch { Status = JobStatus.Running }, Now, "t")!;
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
        Assert.Throws<InvalidTransitionException>(() => JobPatchApplier.Apply(done, new JobPatch { Status = JobStatus.Running }, Now, "t"));
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
        }, Now, "bob")!;

        Assert.Equal([JobEventTypes.StatusChanged, JobEventTypes.Updated], change.Events.Select(e => e.Type));
        Assert.All(change.Events, e => Assert.Equal(2, e.Version));
        var status = change.Events[0].Data!.Value;
        Assert.Equal("queued", status.GetProperty("from").GetString());
        Assert.Equal("running", status.GetProperty("to").GetString());
        var fields = change.Events[1].Data!.Value.GetProperty("fields").EnumerateArray().Select(f => f.GetString());
        Assert.Equal(["status", "result"], fields);
    }
}
