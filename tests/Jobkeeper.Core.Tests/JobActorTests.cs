using Jobkeeper.Model;

namespace Jobkeeper.Core.Tests;

/// <summary>Who asked for a change and why, put on the change's events; the rules themselves name only the actor.</summary>
public class JobActorTests
{
    private static readonly DateTimeOffset Now = TestJobs.T0.AddMinutes(1);

    [Fact]
    public void Every_event_of_a_change_carries_the_display_name_and_the_reason()
    {
        var by = new JobActor("ops-key") { DisplayName = "Alice", Reason = "customer asked" };
        var retry = JobTransitions.Retry(TestJobs.Queued() with { Status = JobStatus.Failed }, Now, by.Name!);
        var signed = by.Sign(retry)!;

        Assert.Equal(retry.Events.Count, signed.Events.Count);
        Assert.All(signed.Events, e =>
        {
            Assert.Equal("ops-key", e.Actor);
            Assert.Equal("Alice", e.DisplayName);
            Assert.Equal("customer asked", e.Reason);
        });
        Assert.Equal(retry.Job, signed.Job);
    }

    [Fact]
    public void Nothing_to_add_or_nothing_changed_leaves_the_replacement_as_it_is()
    {
        var retry = JobTransitions.Retry(TestJobs.Queued() with { Status = JobStatus.Failed }, Now, "app");
        Assert.Same(retry, new JobActor("app").Sign(retry));
        Assert.Null(new JobActor("app") { Reason = "why" }.Sign(null));
    }

    [Fact]
    public void A_name_converts_to_an_actor_of_that_name()
    {
        JobActor? actor = "alice";
        Assert.Equal(new JobActor("alice"), actor);
        Assert.Null(JobActor.FromName(null));
    }
}
