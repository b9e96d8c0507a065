using System.Text;
using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Core.Tests;

/// <summary>
/// Every entry point that can change a job (the patch, the worker calls, prompts, the reaper, prompt expiry, cancel,
/// retry, a driver stopping) applied to a job in every status: each move it makes is one the transition table allows,
/// everything else is refused, every move the table allows is made by some entry point, and a running job always holds
/// a lease. The same walk writes docs/state-machine.md, so the diagram and the matrix there are the rules as they run.
/// </summary>
public class StateMachineTests
{
    private const string Token = "lease-1";
    private static readonly DateTimeOffset Now = TestJobs.T0.AddMinutes(5);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly AppLease App = new("app", "app-token", TimeSpan.FromMinutes(30));
    private static readonly JobError Boom = new() { Message = "boom", Code = "exception" };

    private static readonly JobPrompt Question = new()
    {
        Key = "ok", Question = "Is it right?", AskedAt = Now, ExpiresAt = Now.AddMinutes(1),
    };

    /// <summary>A job in each status, reached through the rules themselves.</summary>
    private static Job InStatus(JobStatus status)
    {
        var queued = TestJobs.Queued();
        var running = JobTransitions.Claim(queued, "w", Token, Now + Lease, Now).Job;
        return status switch
        {
            JobStatus.Queued => queued,
            JobStatus.Running => running,
            JobStatus.Waiting => PromptTransitions.Ask(running, Token, Question, Now).Job,
            JobStatus.Completed => JobTransitions.Complete(running, Token, null, Now).Job,
            JobStatus.Failed => JobTransitions.Fail(running, Token, Boom, null, Now).Job,
            JobStatus.Cancelled => JobTransitions.Cancel(queued, Now, Lease, "a")!.Job,
            _ => throw new ArgumentOutOfRangeException(nameof(status)),
        };
    }

    private static readonly DateTimeOffset Later = Now.AddMinutes(10);

    /// <summary>The entry points, in the order the docs list them; each takes the job and gives the change, or throws when refused.</summary>
    public static readonly (string Name, Func<Job, JobReplacement?> Apply)[] EntryPoints =
    [
        .. JobStatusNames.All.Select(to => ($"PATCH status={to.ToName()}",
            (Func<Job, JobReplacement?>)(job => JobPatchApplier.Apply(job, new JobPatch { Status = to }, Now, "app", App)))),
        ("PATCH progress", job => JobPatchApplier.Apply(job, new JobPatch { Progress = new ProgressPatch { Fraction = 0.5 } }, Now, "app", App)),
        ("claim", job => JobTransitions.Claim(job, "w2", "lease-2", Now + Lease, Now)),
        ("heartbeat", job => JobTransitions.Heartbeat(job, Token, Lease * 2, Now)),
        ("progress", job => JobTransitions.Progress(job, Token, new ProgressPatch { Fraction = 0.5 }, null, Now)),
        ("complete", job => JobTransitions.Complete(job, Token, null, Now)),
        ("fail, retry", job => JobTransitions.Fail(job, Token, Boom, TimeSpan.FromSeconds(1), Now)),
        ("fail, no retry", job => JobTransitions.Fail(job, Token, Boom, null, Now)),
        ("release", job => JobTransitions.Release(job, Token, Now)),
        ("ask", job => PromptTransitions.Ask(job, Token, Question with { Key = "other" }, Now)),
        ("checkpoint", job => PromptTransitions.SaveCheckpoint(job, Token, JsonDocument.Parse("{}").RootElement, Now)),
        ("answer", job => PromptTransitions.Answer(job, null, JsonDocument.Parse("\"yes\"").RootElement, null, null, null, Now)),
        ("prompt expires, fail", job => PromptTransitions.Expire(job, "ok", Later)),
        ("prompt expires, default", job => PromptTransitions.Expire(job with { Prompts = [.. job.Prompts.Select(p => p.IsOpen ? p with { OnExpiry = PromptExpiry.Default } : p)] }, "ok", Later)),
        ("lease expires, runnable", job => JobTransitions.ExpireLease(job, job.LeaseToken, Later, canRun: true)),
        ("lease expires, no runner", job => JobTransitions.ExpireLease(job, job.LeaseToken, Later, canRun: false)),
        ("cancel", job => JobTransitions.Cancel(job, Now, Lease, "a")),
        ("retry", job => JobTransitions.Retry(job, Now, "a")),
        ("driver stops, runnable", job => JobTransitions.DriverStopped(job, Token, canRun: true, Now)),
        ("driver stops, no runner", job => JobTransitions.DriverStopped(job, Token, canRun: false, Now)),
    ];

    /// <summary>What an entry point does to a job in a status: the status it moves to, "no change", or "refused".</summary>
    private static string Outcome(Func<Job, JobReplacement?> apply, JobStatus from, HashSet<(JobStatus, JobStatus)> moves)
    {
        var job = InStatus(from);
        JobReplacement? change;
        try
        {
            change = apply(job);
        }
        catch (JobkeeperException)
        {
            return "refused";
        }

        if (change is null)
        {
            return "–";
        }

        var to = change.Job.Status;
        Assert.True(from == to || JobStatusRules.CanMove(from, to), $"{from} → {to} is not in the transition table");
        Assert.Equal(to == JobStatus.Running, change.Job.LeaseToken is not null && change.Job.LeaseExpiresAt is not null);
        if (from != to)
        {
            moves.Add((from, to));
        }

        return to == from ? "stays" : to.ToName();
    }

    [Fact]
    public void Every_entry_point_moves_a_job_only_as_the_table_allows_and_every_allowed_move_is_made_by_one()
    {
        var moves = new HashSet<(JobStatus, JobStatus)>();
        foreach (var (_, apply) in EntryPoints)
        {
            foreach (var from in JobStatusNames.All)
            {
                Outcome(apply, from, moves);
            }
        }

        var allowed = JobStatusNames.All.SelectMany(from => JobStatusRules.NextOf(from).Select(to => (from, to))).ToHashSet();
        Assert.Empty(allowed.Except(moves));
        Assert.Empty(moves.Except(allowed));
    }

    [Fact]
    public void A_change_outside_the_table_is_refused_wherever_it_comes_from()
    {
        // A rule with a bug (here: a completed job set running by hand) cannot get past the one check.
        var completed = InStatus(JobStatus.Completed);
        var forced = completed with { Status = JobStatus.Running, LeaseOwner = "x", LeaseToken = "t", LeaseExpiresAt = Later, Version = completed.Version + 1 };
        Assert.Throws<InvalidTransitionException>(() => StateChange.Of(completed, forced, []));

        // Nor can a job become running without a lease.
        var queued = InStatus(JobStatus.Queued);
        Assert.Throws<InvalidOperationException>(() => StateChange.Of(queued, queued with { Status = JobStatus.Running, Version = 2 }, []));
    }

    [Fact]
    public void Only_the_one_check_builds_a_change_in_the_rules()
    {
        var model = Path.Combine(RepositoryRoot(), "src", "Jobkeeper.Core", "Model");
        var builders = Directory.GetFiles(model, "*.cs")
            .Where(f => File.ReadAllText(f).Contains("new JobReplacement(", StringComparison.Ordinal))
            .Select(Path.GetFileName);
        Assert.Equal(["StateChange.cs"], builders);
    }

    [Fact]
    public void The_state_machine_page_in_the_docs_is_the_rules_as_they_run()
    {
        var path = Path.Combine(RepositoryRoot(), "docs", "state-machine.md");
        var expected = StateMachinePage();
        if (Environment.GetEnvironmentVariable("JOBKEEPER_WRITE_DOCS") == "1")
        {
            File.WriteAllText(path, expected);
        }

        Assert.True(File.Exists(path) && File.ReadAllText(path) == expected,
            $"{path} differs from the rules; run this test with JOBKEEPER_WRITE_DOCS=1 to write it anew, and commit it.");
    }

    private static string StateMachinePage()
    {
        var page = new StringBuilder();
        page.Append("""
            # The job state machine

            Every status change, from every entry point, is checked against one transition table
            (`src/Jobkeeper.Core/Model/JobStatusRules.cs`) in one place (`StateChange.Of`, which also checks that a running
            job holds a lease and no other job does). This page is written by `tests/Jobkeeper.Core.Tests/StateMachineTests.cs`
            from the rules themselves, so it cannot drift from them.

            ```mermaid
            stateDiagram-v2

            """.Replace("\r", "", StringComparison.Ordinal));
        page.Append("    [*] --> queued: create\n");
        foreach (var from in JobStatusNames.All)
        {
            foreach (var to in JobStatusRules.NextOf(from))
            {
                page.Append($"    {from.ToName()} --> {to.ToName()}\n");
            }
        }

        page.Append("```\n\n");
        page.Append("Final: `completed`. `failed` and `cancelled` may only be retried (queued again with `attempt` + 1).\n\n");
        page.Append("## What each entry point does in each status\n\n");
        page.Append("A status name is where the job goes; `stays` means it changed without moving (a renewal, progress, a checkpoint,\n");
        page.Append("a cancel request on a running job); `–` means nothing changes; `refused` is a 409 (or `lease-lost`) that changes nothing.\n\n");
        page.Append("| entry point | " + string.Join(" | ", JobStatusNames.All.Select(s => s.ToName())) + " |\n");
        page.Append("|---|" + string.Concat(JobStatusNames.All.Select(_ => "---|")) + "\n");
        var moves = new HashSet<(JobStatus, JobStatus)>();
        foreach (var (name, apply) in EntryPoints)
        {
            page.Append($"| {name} | " + string.Join(" | ", JobStatusNames.All.Select(from => Outcome(apply, from, moves))) + " |\n");
        }

        return page.ToString();
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Jobkeeper.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Jobkeeper.slnx not found above the test's directory.");
    }
}
