using System.Collections.Concurrent;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Caching;

/// <summary>
/// Hot jobs in memory. Written through after commit, in commit order (it observes the store), so a
/// cached job is never older than the last committed change. Reads that miss warm it with
/// add-if-absent, so a slow read can never overwrite a newer committed version. A deleted job leaves
/// a tombstone for one TTL so that a read racing the delete cannot bring it back.
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
        if (_entries.TryGetValue(id, out var entry))
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

    /// <summary>Adds a job read from the store unless the cache already holds something newer for it.</summary>
    public void Warm(Job job)
    {
        if (_entries.TryAdd(job.Id, new Entry(job, _time.GetTimestamp())))
        {
            OnAdded();
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
                if (_entries.TryUpdate(id, entry, old))
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

    private sealed class Entry(Job? job, long now)
    {
        private long _lastUsed = now;

        public Job? Job { get; } = job;

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
