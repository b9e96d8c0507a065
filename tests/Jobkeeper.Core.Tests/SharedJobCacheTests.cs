using Jobkeeper.Caching;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Jobkeeper.Core.Tests;

/// <summary>
/// The cache when several instances share a store: versions arrive by three paths (this instance's commits,
/// reads that warm it, notices of changes made elsewhere) in any order, and the newest always wins.
/// </summary>
public class SharedJobCacheTests
{
    private readonly JobCache _cache = new(Options.Create(new JobkeeperOptions()), new FakeTimeProvider(TestJobs.T0));

    private static Job At(long version) => TestJobs.Queued("j") with { Version = version };

    private void Commit(Job job) => _cache.JobsCommitted([new CommittedChange(job.Id, job, [])]);

    private long? Cached() => _cache.TryGet("j", out var job) ? job?.Version : null;

    [Fact]
    public void A_change_made_elsewhere_stops_the_older_copy_from_being_served()
    {
        Commit(At(1));
        _cache.JobsChangedElsewhere([new JobVersion("j", 2)], []);
        Assert.Null(Cached());
    }

    [Fact]
    public void A_read_older_than_the_change_made_elsewhere_is_not_cached_but_a_current_one_is()
    {
        _cache.JobsChangedElsewhere([new JobVersion("j", 3)], []);
        _cache.Warm(At(2)); // a read that started before the change committed
        Assert.Null(Cached());
        _cache.Warm(At(3));
        Assert.Equal(3, Cached());
    }

    [Fact]
    public void A_late_older_state_never_replaces_a_newer_one()
    {
        Commit(At(5));
        Commit(At(4)); // the state of a change elsewhere, read before this instance's newer commit
        Assert.Equal(5, Cached());
        _cache.Warm(At(3));
        Assert.Equal(5, Cached());
        _cache.Warm(At(6)); // a newer state read from the store replaces it
        Assert.Equal(6, Cached());
    }

    [Fact]
    public void A_notice_for_a_version_already_cached_keeps_the_copy()
    {
        Commit(At(4));
        _cache.JobsChangedElsewhere([new JobVersion("j", 4)], []);
        Assert.Equal(4, Cached());
    }

    [Fact]
    public void A_job_deleted_elsewhere_is_not_brought_back_by_a_racing_read_or_a_late_state()
    {
        Commit(At(2));
        _cache.JobsChangedElsewhere([new JobVersion("j", 0)], []);
        Assert.Null(Cached());
        _cache.Warm(At(2));
        Commit(At(3));
        Assert.Null(Cached());
    }

    [Fact]
    public void A_delete_here_wins_over_any_version_and_a_read_racing_it_does_not_revive_the_job()
    {
        Commit(At(7));
        _cache.JobsCommitted([new CommittedChange("j", null, [])]);
        Assert.True(_cache.TryGet("j", out var deleted));
        Assert.Null(deleted);
        _cache.Warm(At(7));
        Assert.True(_cache.TryGet("j", out deleted));
        Assert.Null(deleted);
    }

    [Fact]
    public void When_changes_may_have_been_missed_nothing_cached_is_kept()
    {
        Commit(At(1));
        _cache.ChangesMayHaveBeenMissed();
        Assert.Equal(0, _cache.Count);
        Assert.Null(Cached());
    }
}
