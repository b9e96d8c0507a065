using System.Collections.Concurrent;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Workers;

/// <summary>
/// Tells waiting code, straight from the store's commits, that something it waits for happened: a job of a
/// type it runs was queued (so idle workers and long-polling claims wake at once instead of polling), or a
/// job it is running changed (cancel requested, deleted, lease taken over). Callbacks run on the store's
/// writer and must only signal.
/// </summary>
public sealed class JobSignals : IJobStoreObserver
{
    /// <summary>
    /// Given among the queued types of <see cref="JobsChangedElsewhere"/>, wakes every waiting claim, whatever its types: a
    /// queue's settings changed (a resume, a limit raised), so jobs held back may now be claimed. No job type is empty.
    /// </summary>
    public const string AnyType = "";

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, Action<Job?>> _watched = new(StringComparer.Ordinal);
    private volatile Dictionary<string, Action[]> _queuedListeners = new(StringComparer.Ordinal);
    private volatile Action[] _anyQueuedListeners = [];

    /// <summary>Calls <paramref name="onQueued"/> whenever a job of one of <paramref name="types"/> is queued (due now or later).</summary>
    public IDisposable OnQueued(IReadOnlyCollection<string> types, Action onQueued)
    {
        lock (_lock)
        {
            var next = new Dictionary<string, Action[]>(_queuedListeners, StringComparer.Ordinal);
            foreach (var type in types)
            {
                next[type] = next.TryGetValue(type, out var existing) ? [.. existing, onQueued] : [onQueued];
            }

            _queuedListeners = next;
        }

        return new Subscription(() => RemoveQueued(types, onQueued));
    }

    /// <summary>Calls <paramref name="onQueued"/> whenever a job of any type is queued (a claim by queue, which names no types).</summary>
    public IDisposable OnAnyQueued(Action onQueued)
    {
        lock (_lock)
        {
            _anyQueuedListeners = [.. _anyQueuedListeners, onQueued];
        }

        return new Subscription(() =>
        {
            lock (_lock)
            {
                _anyQueuedListeners = [.. _anyQueuedListeners.Where(a => a != onQueued)];
            }
        });
    }

    /// <summary>Calls <paramref name="onChanged"/> with each committed state of the job (null once deleted) until disposed.</summary>
    public IDisposable Watch(string jobId, Action<Job?> onChanged)
    {
        _watched[jobId] = onChanged;
        return new Subscription(() => _watched.TryRemove(new KeyValuePair<string, Action<Job?>>(jobId, onChanged)));
    }

    public void JobsCommitted(IReadOnlyList<CommittedChange> changes)
    {
        var listeners = _queuedListeners;
        var anyQueued = _anyQueuedListeners;
        var watching = !_watched.IsEmpty;
        if (listeners.Count == 0 && anyQueued.Length == 0 && !watching)
        {
            return;
        }

        if (anyQueued.Length > 0 && changes.Any(c => c.Job is { Status: JobStatus.Queued }))
        {
            foreach (var action in anyQueued)
            {
                action();
            }
        }

        string? lastSignalled = null;
        foreach (var change in changes)
        {
            if (change.Job is { Status: JobStatus.Queued } job && !string.Equals(job.Type, lastSignalled, StringComparison.Ordinal)
                && listeners.TryGetValue(job.Type, out var actions))
            {
                // One signal per run of same-type jobs in a batch is enough: waiters claim everything due.
                lastSignalled = job.Type;
                foreach (var action in actions)
                {
                    action();
                }
            }

            if (watching && _watched.TryGetValue(change.JobId, out var onChanged))
            {
                onChanged(change.Job);
            }
        }
    }

    /// <summary>Another instance queued jobs of these types: wake the waiters here too.</summary>
    public void JobsChangedElsewhere(IReadOnlyList<JobVersion> changes, IReadOnlyCollection<string> queuedTypes)
    {
        var listeners = _queuedListeners;
        if (queuedTypes.Count > 0)
        {
            foreach (var action in _anyQueuedListeners)
            {
                action();
            }
        }

        if (queuedTypes.Contains(AnyType))
        {
            foreach (var action in listeners.Values.SelectMany(a => a).Distinct())
            {
                action();
            }

            return;
        }

        foreach (var type in queuedTypes)
        {
            if (listeners.TryGetValue(type, out var actions))
            {
                foreach (var action in actions)
                {
                    action();
                }
            }
        }
    }

    /// <summary>A job running here that another instance changed (a cancel, a takeover): its watcher needs the new state.</summary>
    public bool WantsStateOf(string jobId) => _watched.ContainsKey(jobId);

    private void RemoveQueued(IReadOnlyCollection<string> types, Action onQueued)
    {
        lock (_lock)
        {
            var next = new Dictionary<string, Action[]>(_queuedListeners, StringComparer.Ordinal);
            foreach (var type in types)
            {
                if (next.TryGetValue(type, out var existing))
                {
                    var remaining = existing.Where(a => a != onQueued).ToArray();
                    if (remaining.Length == 0)
                    {
                        next.Remove(type);
                    }
                    else
                    {
                        next[type] = remaining;
                    }
                }
            }

            _queuedListeners = next;
        }
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        private Action? _dispose = dispose;

        public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
    }
}
