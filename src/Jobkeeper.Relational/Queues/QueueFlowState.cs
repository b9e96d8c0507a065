using Jobkeeper.Model;

namespace Jobkeeper.Relational.Queues;

/// <summary>
/// The queue settings a store holds in memory: every stored queue, and the ones whose settings hold jobs back (those a
/// claim must walk under flow control). Swapped whole when settings change; <see cref="Epoch"/> says which change it saw
/// (PostgreSQL checks it inside each claim's transaction, so a change made by another instance is never missed).
/// </summary>
internal sealed class QueueFlowSnapshot
{
    public static QueueFlowSnapshot Empty { get; } = new([], 0);

    public QueueFlowSnapshot(IEnumerable<QueueSettings> queues, long epoch)
    {
        All = queues.ToDictionary(q => q.Name, StringComparer.Ordinal);
        HoldingBack = [.. All.Values.Where(q => q.HoldsBack).OrderBy(q => q.Name, StringComparer.Ordinal)];
        HoldingBackNames = [.. HoldingBack.Select(q => q.Name)];
        Epoch = epoch;
    }

    public IReadOnlyDictionary<string, QueueSettings> All { get; }

    /// <summary>The queues with a limit or a pause, by name.</summary>
    public IReadOnlyList<QueueSettings> HoldingBack { get; }

    public IReadOnlyList<string> HoldingBackNames { get; }

    public long Epoch { get; }

    public bool HoldsBack(string queue) => All.TryGetValue(queue, out var settings) && settings.HoldsBack;

    /// <summary>The settings of <paramref name="job"/>'s queue when they may hold it back (it is queued there, and they limit or pause); else null.</summary>
    public QueueSettings? HoldingBackOf(Job job) =>
        job.Status == JobStatus.Queued && All.TryGetValue(job.Queue, out var settings) && settings.HoldsBack ? settings : null;
}

/// <summary>The store's current <see cref="QueueFlowSnapshot"/>.</summary>
internal sealed class QueueFlowState
{
    private volatile QueueFlowSnapshot _current = QueueFlowSnapshot.Empty;

    public QueueFlowSnapshot Current => _current;

    public void Set(QueueFlowSnapshot snapshot) => _current = snapshot;
}
