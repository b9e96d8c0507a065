using System.Collections.Concurrent;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Caching;

/// <summary>
/// Hot jobs in memory. Written through after commit, in commit order (it observes the store), so a
/// cached job is never older than the last committed change. Reads that miss warm it with
/// add-if-absent, so a slow read can never overwrite a newer committed version. A deleted job leaves
/// a tombstone for one TTL so that a read racing the delete cannot bring it back. With a shared store, a
/// change made on another instance leaves a marker of its version: the job is read from the store again,
/// and nothing older than that version can be cached. Newer versions always win, whichever path they came by.
/// </summary>
public sealed class JobCache : IJobStoreObserver
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly long _ttlTicks;
    private readonly int _maxEntries;
    private readonly long _touchGranularity;
    private readonly Lock _trimLock = new();
    private int _count;
    private long _hits;
    private long _misses;

    public JobCache(IOptions<JobkeeperOptions> options, TimeProvider time)
    {
        var cache = options.Value.Cache;
        if (cache.MaxEntries < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Cache.MaxEntries must be at least 1.");
        }

        _time = time;
        _maxEntries = cache.MaxEntries;
        // Recency is kept to a tenth of a second: enough for a TTL of minutes, and hot reads rarely write.
        _touchGranularity = time.TimestampFrequency / 10;
        _ttlTicks = (long)(cache.Ttl.TotalSeconds * time.TimestampFrequency);
        Options = cache;
    }

    public JobCacheOptions Options { get; }

    public int Count => Volatile.Read(ref _count);
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>
    /// True when the cache knows the answer: <paramref name="job"/> is the job, or null when it was deleted.
    /// False on a miss: ask the store.
    /// </summary>
    public bool TryGet(string id, out Job? job)
    {
        if (_entries.TryGetValue(id, out var entry) && !entry.IsMarker)
        {
            entry.Touch(_time.GetTimestamp(), _touchGranularity);
            Interlocked.Increment(ref _hits);
            job = entry.Job;
            return true;
        }

        Interlocked.Increment(ref _misses);
        job = null;
        return false;
    }

    /// <summary>
    /// Adds a job read from the store unless the cache holds the same or a newer version, or a deletion (a read
    /// that raced the delete must not bring the job back).
    /// </summary>
    public void Warm(Job job)
    {
        var entry = new Entry(job, _time.GetTimestamp());
        while (true)
        {
            if (!_entries.TryGetValue(job.Id, out var old))
            {
                if (_entries.TryAdd(job.Id, entry))
                {
                    OnAdded();
                    return;
                }
            }
            else if (old.IsTombstone || (old.IsMarker ? old.Version > job.Version : old.Version >= job.Version)
                || _entries.TryUpdate(job.Id, entry, old))
            {
                return;
            }
        }
    }

    /// <summary>Committed changes, in commit order: the newest state wins.</summary>
    public void JobsCommitted(IReadOnlyList<CommittedChange> changes)
    {
        var now = _time.GetTimestamp();
        foreach (var change in changes)
        {
            Put(change.JobId, new Entry(change.Job, now));
        }
    }

    /// <summary>Changes committed on another instance: what is cached below those versions is no longer served.</summary>
    public void JobsChangedElsewhere(IReadOnlyList<JobVersion> changes, IReadOnlyCollection<string> queuedTypes)
    {
        var now = _time.GetTimestamp();
        foreach (var (id, version) in changes)
        {
            // A job deleted elsewhere may not be cached again by a read that raced the delete; the marker lasts one TTL.
            Put(id, Entry.Marker(version <= 0 ? long.MaxValue : version, now));
        }
    }

    /// <summary>Changes elsewhere may have been missed: nothing cached can be trusted.</summary>
    public void ChangesMayHaveBeenMissed() => Clear();

    /// <summary>Forgets a job without a tombstone (it may have changed elsewhere; the next read asks the store).</summary>
    public void Evict(string id)
    {
        if (_entries.TryRemove(id, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    public void Clear()
    {
        _entries.Clear();
        Volatile.Write(ref _count, 0);
    }

    /// <summary>Drops entries not used within the TTL; returns how many.</summary>
    public int Sweep()
    {
        var expiredBefore = _time.GetTimestamp() - _ttlTicks;
        var removed = 0;
        foreach (var pair in _entries)
        {
            if (pair.Value.LastUsed <= expiredBefore && _entries.TryRemove(pair))
            {
                removed++;
            }
        }

        Interlocked.Add(ref _count, -removed);
        return removed;
    }

    private void Put(string id, Entry entry)
    {
        while (true)
        {
            if (_entries.TryGetValue(id, out var old))
            {
                if (Keeps(old, entry) || _entries.TryUpdate(id, entry, old))
                {
                    return;
                }
            }
            else if (_entries.TryAdd(id, entry))
            {
                OnAdded();
                return;
            }
        }
    }

    /// <summary>
    /// Whether an entry stays in place of a new one: a delete here always wins; otherwise an older version never
    /// replaces a newer one, and a job replaces a marker only at (or above) the marker's version.
    /// </summary>
    private static bool Keeps(Entry old, Entry entry) =>
        !entry.IsTombstone && (entry.IsMarker ? old.Version >= entry.Version : old.Version > entry.Version);

    private void OnAdded()
    {
        if (Interlocked.Increment(ref _count) > _maxEntries)
        {
            TrimToNinetyPercent();
        }
    }

    /// <summary>Drops the least recently used entries until a tenth of the room is free again.</summary>
    private void TrimToNinetyPercent()
    {
        lock (_trimLock)
        {
            var excess = Volatile.Read(ref _count) - (_maxEntries - (_maxEntries / 10));
            if (Volatile.Read(ref _count) <= _maxEntries || excess <= 0)
            {
                return;
            }

            var snapshot = _entries.ToArray();
            var lastUsed = new long[snapshot.Length];
            for (var i = 0; i < snapshot.Length; i++)
            {
                lastUsed[i] = snapshot[i].Value.LastUsed;
            }

            Array.Sort(lastUsed, snapshot);
            var removed = 0;
            for (var i = 0; i < snapshot.Length && removed < excess; i++)
            {
                if (_entries.TryRemove(snapshot[i]))
                {
                    removed++;
                }
            }

            Interlocked.Add(ref _count, -removed);
        }
    }

    private sealed class Entry(Job? job, long now, long version = 0, bool isMarker = false)
    {
        private long _lastUsed = now;

        public Job? Job { get; } = job;

        /// <summary>The cached job's version, or for a marker the least version that may be cached; 0 for a tombstone.</summary>
        public long Version { get; } = job?.Version ?? version;

        /// <summary>Not a job: only the least version a read may cache (a change made elsewhere).</summary>
        public bool IsMarker { get; } = isMarker;

        public bool IsTombstone => Job is null && !IsMarker;

        public static Entry Marker(long version, long now) => new(null, now, version, isMarker: true);

        public long LastUsed => Volatile.Read(ref _lastUsed);

        public void Touch(long now, long granularity)
        {
            if (now - Volatile.Read(ref _lastUsed) >= granularity)
            {
                Volatile.Write(ref _lastUsed, now);
            }
        }
    }
}
