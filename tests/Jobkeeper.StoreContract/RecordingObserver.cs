using System.Collections.Concurrent;
using Jobkeeper.Storage;

namespace Jobkeeper.StoreContract;

/// <summary>Keeps every committed change the store announces, in the order announced.</summary>
public sealed class RecordingObserver : IJobStoreObserver
{
    private readonly ConcurrentQueue<CommittedChange> _changes = new();

    private readonly ConcurrentQueue<IReadOnlyList<CommittedChange>> _commits = new();

    public IReadOnlyList<CommittedChange> Changes => _changes.ToArray();

    /// <summary>The changes of each commit the store told about, one list per transaction.</summary>
    public IReadOnlyList<IReadOnlyList<CommittedChange>> Commits => _commits.ToArray();

    public void JobsCommitted(IReadOnlyList<CommittedChange> changes)
    {
        _commits.Enqueue([.. changes]);
        foreach (var change in changes)
        {
            _changes.Enqueue(change);
        }
    }
}
