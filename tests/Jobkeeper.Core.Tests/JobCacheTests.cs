using Jobkeeper.Caching;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Jobkeeper.Core.Tests;

public class JobCacheTests
{
    private readonly FakeTimeProvider _time = new(TestJobs.T0);

    private JobCache NewCache(int maxEntries = 100, TimeSpan? ttl = null)
    {
        var options = new JobkeeperOptions();
        options.Cache.MaxEntries = maxEntries;
        options.Cache.Ttl = ttl ?? TimeSpan.FromMinutes(60);
        return new JobCache(Options.Create(options), _time);
    }

    private static void Commit(JobCache cache, Job job) => cache.JobsCommitted([new CommittedChange(job.Id, job, [])]);

    [Fact]
    public void A_committed_job_is_served_from_memory_and_counted_as_a_hit()
    {
        var cache = NewCache();
        Assert.False(cache.TryGet("job-1", out _));
        Commit(cache, TestJobs.Queued());

        Assert.True(cache.TryGet("job-1", out var job));
        Assert.Equal("job-1", job!.Id);
        Assert.Equal(1, cache.Hits);
        Assert.Equal(1, cache.Misses);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Entries_expire_after_the_ttl_without_use_and_the_sweep_counts_them()
    {
        var cache = NewCache(ttl: TimeSpan.FromMinutes(60));
        Commit(cache, TestJobs.Queued("a"));
        Commit(cache, TestJobs.Queued("b"));

        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, cache.Sweep());
        Assert.True(cache.TryGet("b", out _)); // b is used again, a is not

        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, cache.Sweep());
        Assert.False(cache.TryGet("a", out _));
        Assert.True(cache.TryGet("b", out _));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void The_entry_count_stays_bounded_and_the_least_recently_used_go_first()
    {
        var cache = NewCache(maxEntries: 100);
        for (var i = 0; i < 100; i++)
        {
            Commit(cache, TestJobs.Queued($"job-{i}"));
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        // Touch the oldest ten so they are the most recently used.
        for (var i = 0; i < 10; i++)
        {
            Assert.True(cache.TryGet($"job-{i}", out _));
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 100; i < 1000; i++)
        {
            Commit(cache, TestJobs.Queued($"job-{i}"));
            Assert.True(cache.Count <= 100, $"count {cache.Count} exceeded the bound after adding job-{i}");
        }

        // The ten touched survive the first trim; untouched older entries (10..) were dropped before them.
        Assert.False(cache.TryGet("job-10", out _));
        Assert.True(cache.TryGet("job-999", out _));
    }

    [Fact]
    public void A_read_warming_the_cache_never_replaces_a_newer_committed_version()
    {
        var cache = NewCache();
        Commit(cache, TestJobs.Queued(version: 2));
        cache.Warm(TestJobs.Queued(version: 1)); // a slow reader that read v1 before the commit

        Assert.True(cache.TryGet("job-1", out var job));
        Assert.Equal(2, job!.Version);
    }

    [Fact]
    public void A_deleted_job_leaves_a_tombstone_that_a_racing_read_cannot_revive()
    {
        var cache = NewCache();
        Commit(cache, TestJobs.Queued());
        cache.JobsCommitted([new CommittedChange("job-1", null, [])]);
        cache.Warm(TestJobs.Queued()); // read from the store just before the delete committed

        Assert.True(cache.TryGet("job-1", out var job));
        Assert.Null(job);

        // The tombstone expires like any entry; then the store is asked again.
        _time.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(1, cache.Sweep());
        Assert.False(cache.TryGet("job-1", out _));
    }

    [Fact]
    public void Committed_changes_apply_in_commit_order()
    {
        var cache = NewCache();
        cache.JobsCommitted(
        [
            new CommittedChange("job-1", TestJobs.Queued(version: 1), []),
            new CommittedChange("job-1", TestJobs.Queued(version: 2), []),
            new CommittedChange("job-1", TestJobs.Queued(version: 3), []),
        ]);

        Assert.True(cache.TryGet("job-1", out var job));
        Assert.Equal(3, job!.Version);
        Assert.Equal(1, cache.Count);
    }
}
