using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

public class JobStatusRulesTests
{
    // The whole table, written out independently of the implementation: from -> allowed targets.
    private static readonly Dictionary<JobStatus, JobStatus[]> Expected = new()
    {
        [JobStatus.Queued] = [JobStatus.Running, JobStatus.Cancelled, JobStatus.Failed],
        [JobStatus.Running] = [JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled, JobStatus.Waiting, JobStatus.Queued],
        [JobStatus.Waiting] = [JobStatus.Queued, JobStatus.Cancelled, JobStatus.Failed],
        [JobStatus.Completed] = [],
        [JobStatus.Failed] = [JobStatus.Queued],
        [JobStatus.Cancelled] = [JobStatus.Queued],
    };

    public static TheoryData<JobStatus, JobStatus> AllPairs()
    {
        var data = new TheoryData<JobStatus, JobStatus>();
        foreach (var from in Enum.GetValues<JobStatus>())
        {
            foreach (var to in Enum.GetValues<JobStatus>())
            {
                if (from != to)
                {
                    data.Add(from, to);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void Every_pair_follows_the_table(JobStatus from, JobStatus to)
    {
        var allowed = Expected[from].Contains(to);
        Assert.Equal(allowed, JobStatusRules.CanMove(from, to));
        if (allowed)
        {
            JobStatusRules.EnsureCanMove("j", from, to);
        }
        else
        {
            var error = Assert.Throws<InvalidTransitionException>(() => JobStatusRules.EnsureCanMove("j", from, to));
            Assert.Contains($"'{from.ToName()}' to '{to.ToName()}'", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Completed_is_final_and_says_so()
    {
        var error = Assert.Throws<InvalidTransitionException>(() => JobStatusRules.EnsureCanMove("job-1", JobStatus.Completed, JobStatus.Running));
        Assert.Equal("Job 'job-1' cannot move from 'completed' to 'running'. 'completed' is final.", error.Message);
    }

    [Theory]
    [InlineData("queued", JobStatus.Queued)]
    [InlineData("cancelled", JobStatus.Cancelled)]
    public void Names_round_trip(string name, JobStatus status)
    {
        Assert.True(JobStatusNames.TryParse(name, out var parsed));
        Assert.Equal(status, parsed);
        Assert.Equal(name, status.ToName());
    }

    [Theory]
    [InlineData("Queued")]
    [InlineData("done")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_names_are_refused(string? name) => Assert.False(JobStatusNames.TryParse(name, out _));

    [Fact]
    public void Terminal_statuses_are_completed_failed_cancelled()
    {
        var terminal = Enum.GetValues<JobStatus>().Where(s => s.IsTerminal()).ToArray();
        Assert.Equal([JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled], terminal);
    }
}
