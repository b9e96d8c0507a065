using System.Collections.Concurrent;
using Jobkeeper.Storage;

namespace Jobkeeper.Workers;

/// <summary>
/// What this instance sees of the workers that call it: in-process engines and HTTP workers by their worker id, when each
/// was last heard from (a claim, or any call under a lease), and what it claimed, completed and failed per minute over the
/// last five. <see cref="WorkerActivityRecorder"/> stores it every few seconds, so every instance shows every worker.
/// </summary>
internal sealed class WorkerActivity
{
    public const string InProcess = "in_process";
    public const string Http = "http";

    /// <summary>The window the counts cover, in one-minute buckets.</summary>
    private const int Minutes = 5;

    private readonly ConcurrentDictionary<string, Tracked> _workers = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public WorkerActivity(TimeProvider time, Telemetry.JobkeeperInstruments instruments)
    {
        _time = time;
        instruments.Meter.CreateObservableGauge("jobkeeper.workers.seen", () => Count, "{worker}",
            "Workers (in-process handlers and HTTP workers by worker_id) this instance heard from in the last five minutes");
    }

    public void Claimed(string worker, string kind, int jobs) => Touch(worker, kind, (t, minute) => t.Add(minute, claimed: jobs));

    public void Completed(string worker) => Touch(worker, null, (t, minute) => t.Add(minute, completed: 1));

    public void Failed(string worker) => Touch(worker, null, (t, minute) => t.Add(minute, failed: 1));

    public void Seen(string worker, string? kind = null) => Touch(worker, kind, (_, _) => { });

    /// <summary>How many workers this instance heard from within the window.</summary>
    public int Count => _workers.Count(w => w.Value.LastSeen >= _time.GetUtcNow().AddMinutes(-Minutes));

    /// <summary>What this instance saw, as of now, of the workers heard from within the window; older ones are forgotten.</summary>
    public IReadOnlyList<WorkerSeen> Snapshot(string instance)
    {
        var now = _time.GetUtcNow();
        var minute = MinuteOf(now);
        var rows = new List<WorkerSeen>();
        foreach (var (id, tracked) in _workers)
        {
            if (tracked.LastSeen < now.AddMinutes(-Minutes))
            {
                _workers.TryRemove(new KeyValuePair<string, Tracked>(id, tracked));
                continue;
            }

            var (claimed, completed, failed) = tracked.Sum(minute - Minutes + 1);
            rows.Add(new WorkerSeen(id, instance, tracked.Kind, tracked.LastSeen, now, claimed, completed, failed));
        }

        return rows;
    }

    private void Touch(string worker, string? kind, Action<Tracked, long> record)
    {
        var now = _time.GetUtcNow();
        var tracked = _workers.GetOrAdd(worker, static (_, k) => new Tracked(k ?? Http), kind);
        lock (tracked)
        {
            if (kind is not null)
            {
                tracked.Kind = kind;
            }

            tracked.LastSeen = now > tracked.LastSeen ? now : tracked.LastSeen;
            record(tracked, MinuteOf(now));
        }
    }

    private static long MinuteOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / 60;

    private sealed class Tracked(string kind)
    {
        private readonly (long Minute, long Claimed, long Completed, long Failed)[] _buckets = new (long, long, long, long)[Minutes];

        public string Kind { get; set; } = kind;

        public DateTimeOffset LastSeen { get; set; }

        public void Add(long minute, long claimed = 0, long completed = 0, long failed = 0)
        {
            ref var bucket = ref _buckets[minute % Minutes];
            if (bucket.Minute != minute)
            {
                bucket = (minute, 0, 0, 0);
            }

            bucket = (minute, bucket.Claimed + claimed, bucket.Completed + completed, bucket.Failed + failed);
        }

        public (long Claimed, long Completed, long Failed) Sum(long fromMinute)
        {
            lock (this)
            {
                long claimed = 0, completed = 0, failed = 0;
                foreach (var bucket in _buckets)
                {
                    if (bucket.Minute >= fromMinute)
                    {
                        claimed += bucket.Claimed;
                        completed += bucket.Completed;
                        failed += bucket.Failed;
                    }
                }

                return (claimed, completed, failed);
            }
        }
    }
}
