using Jobkeeper.Model;

namespace Jobkeeper.Storage;

/// <summary>
/// Told of every committed change, in commit order, on the store's writer right after the commit and
/// before the writers are answered. Must be quick and must not throw.
/// </summary>
public interface IJobStoreObserver
{
    void JobsCommitted(IReadOnlyList<CommittedChange> changes);
}

/// <summary>One committed change of one job: its new state (null when deleted) and the events appended.</summary>
public sealed record CommittedChange(string JobId, Job? Job, IReadOnlyList<JobEvent> Events);
