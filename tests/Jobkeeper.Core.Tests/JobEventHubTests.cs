using Jobkeeper.Model;
using Jobkeeper.Storage;
using Jobkeeper.Streaming;

namespace Jobkeeper.Core.Tests;

public sealed class JobEventHubTests
{
    private static CommittedChange Change(string id, params long[] eventIds) =>
        new(id, TestJobs.Queued(id), eventIds.Select(e => new JobEvent { Id = e, JobId = id, Type = JobEventTypes.Updated, At = TestJobs.T0 }).ToArray());

    [Fact]
    public async Task Subscribers_get_committed_events_in_commit_order_with_their_jobs_type_and_status()
    {
        var hub = new JobEventHub();
        using var subscription = hub.Subscribe();
        hub.JobsCommitted([Change("a", 1, 2), Change("b", 3)]);
        hub.JobsCommitted([new CommittedChange("gone", null, [])]);
        hub.JobsCommitted([Change("a", 4)]);

        var received = new List<LiveEvent>();
        while (received.Count < 4)
        {
            received.Add(await subscription.Events.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        }

        Assert.Equal([1L, 2, 3, 4], received.Select(r => r.Event.Id));
        Assert.All(received, r => Assert.Equal(("audio.analyze", JobStatus.Queued), (r.JobType!, r.JobStatus!.Value)));
        Assert.False(subscription.Overflowed);
    }

    [Fact]
    public async Task A_subscriber_that_falls_behind_its_buffer_is_cut_off_and_the_others_are_not()
    {
        var hub = new JobEventHub();
        using var slow = hub.Subscribe(buffer: 2);
        using var fast = hub.Subscribe(buffer: 100);

        hub.JobsCommitted([Change("a", 1, 2, 3, 4, 5)]);

        Assert.True(slow.Overflowed);
        Assert.False(fast.Overflowed);
        var kept = new List<long>();
        await foreach (var e in slow.Events.ReadAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token))
        {
            kept.Add(e.Event.Id);
        }

        Assert.Equal([1L, 2], kept);
        Assert.Equal(5, fast.Events.Count);
    }

    [Fact]
    public void A_disposed_subscription_is_told_nothing_more()
    {
        var hub = new JobEventHub();
        var subscription = hub.Subscribe();
        subscription.Dispose();
        hub.JobsCommitted([Change("a", 1)]);
        Assert.False(subscription.Events.TryRead(out _));
        Assert.True(subscription.Events.Completion.IsCompleted);
    }
}
