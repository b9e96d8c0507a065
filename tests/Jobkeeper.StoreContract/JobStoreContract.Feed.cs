using Jobkeeper.Model;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

/// <summary>What every store must do for live streams: one feed of all events in id order, ids never reused.</summary>
public abstract partial class JobStoreContract
{
    [Fact]
    public async Task The_feed_has_every_jobs_events_in_id_order_with_their_job_type_and_status_after_each()
    {
        await Seed(New("a", type: "x"), New("b", type: "y", status: JobStatus.Running));
        var a2 = New("a", type: "x") with { Status = JobStatus.Running, Version = 2, UpdatedAt = T0.AddSeconds(1) };
        Assert.True(await Store.ReplaceAsync(new Storage.JobReplacement(a2, 1, [Updated(a2)], false), CancellationToken.None));

        var feed = await Store.GetFeedAsync(0, 10, null, CancellationToken.None);

        Assert.Equal([("a", "x"), ("b", "y"), ("a", "x")], feed.Select(f => (f.Event.JobId, f.JobType)));
        Assert.Equal([JobStatus.Queued, JobStatus.Running, JobStatus.Running], feed.Select(f => f.JobStatus));
        Assert.Equal([feed[0].Event.Id, feed[2].Event.Id], (await Store.GetFeedAsync(0, 10, "a", CancellationToken.None)).Select(f => f.Event.Id));
        Assert.True(feed.Zip(feed.Skip(1)).All(p => p.First.Event.Id < p.Second.Event.Id));
        Assert.Equal([feed[2].Event.Id], (await Store.GetFeedAsync(feed[1].Event.Id, 10, null, CancellationToken.None)).Select(f => f.Event.Id));
        Assert.Single(await Store.GetFeedAsync(0, 1, null, CancellationToken.None));
    }

    [Fact]
    public async Task Event_ids_are_never_handed_out_twice_even_after_the_newest_are_deleted_and_the_store_reopened()
    {
        await Seed(New("keep"), New("gone"));
        var highest = (await Store.GetFeedAsync(0, 10, null, CancellationToken.None)).Max(f => f.Event.Id);
        Assert.True(await Store.DeleteAsync("gone", CancellationToken.None));
        await Store.DisposeAsync();

        Store = await ReopenAsync(Observer);
        await Seed(New("new"));
        var created = Assert.Single(await Store.GetEventsAsync("new", 0, 10, CancellationToken.None));
        Assert.True(created.Id > highest, $"event id {created.Id} was handed out before (highest was {highest})");
    }

    [Fact]
    public async Task Who_asked_and_why_are_kept_on_each_event_read_from_the_history_and_the_feed()
    {
        var job = New("said");
        Assert.True(await Store.InsertAsync(job, Created(job) with { Actor = "ops-key", DisplayName = "Alice", Reason = "first run" }, CancellationToken.None));
        var next = job with { Status = JobStatus.Cancelled, Version = 2, UpdatedAt = T0.AddSeconds(1), CompletedAt = T0.AddSeconds(1) };
        Assert.True(await Store.ReplaceAsync(new Storage.JobReplacement(next, 1,
            [Updated(next, "ops-key") with { DisplayName = "Łukasz", Reason = "the customer asked — twice" }, Updated(next, "app")], false), CancellationToken.None));

        var history = await Store.GetEventsAsync("said", 0, 10, CancellationToken.None);
        Assert.Equal([("ops-key", "Alice", "first run"), ("ops-key", "Łukasz", "the customer asked — twice"), ("app", null, null)],
            history.Select(e => (e.Actor, e.DisplayName, e.Reason)));
        var feed = await Store.GetFeedAsync(0, 10, "said", CancellationToken.None);
        Assert.Equal(history.Select(e => (e.Actor, e.DisplayName, e.Reason)), feed.Select(f => (f.Event.Actor, f.Event.DisplayName, f.Event.Reason)));
        Assert.Equal("audio.analyze", feed[^1].JobType);
        Assert.Equal(JobStatus.Cancelled, feed[^1].JobStatus);
    }
}
