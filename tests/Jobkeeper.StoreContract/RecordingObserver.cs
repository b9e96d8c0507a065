using System.Collections.Concurrent;
using Jobkeeper.Storage;

namespace Jobkeeper.StoreContract;

/// <summary>Keeps every committed change the store announces, in the order announced.</summary>
public sealed class RecordingObserver : IJobStoreObserver
{
    private readonly ConcurrentQueue<CommittedChange> _changes = new();

    public IReadOnlyList<CommittedChange> Changes => _changes.ToArray();

    public void JobsCommitted(IReadOnlyList<CommittedChange> changes)
    {
        foreach (var change in changes)
        {
            _changes.Enqueue(change);
        }
    }
}
