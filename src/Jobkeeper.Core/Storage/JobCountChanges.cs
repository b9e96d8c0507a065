using Jobkeeper.Model;

namespace Jobkeeper.Storage;

/// <summary>
/// A number that moves whenever the counts of jobs by status may have changed: a job created, deleted or moved to
/// another status here, anything changed by another instance, or notifications missed. A reader that cached counts
/// at version V knows they are still exact while <see cref="Version"/> is V, so it can skip a full count without
/// ever missing its own process's writes.
/// </summary>
public sealed class JobCountChanges : IJobStoreObserver
{
    private long _version;

    public long Version => Volatile.Read(ref _version);

    public void JobsCommitted(IReadOnlyList<CommittedChange> changes)
    {
        foreach (var change in changes)
        {
            if (change.Job is null || change.Events.Any(e => e.Type is JobEventTypes.Created or JobEventTypes.StatusChanged))
            {
                Interlocked.Increment(ref _version);
                return;
            }
        }
    }

    public void JobsChangedElsewhere(IReadOnlyList<JobVersion> changes, IReadOnlyCollection<string> queuedTypes) => Interlocked.Increment(ref _version);

    public void ChangesMayHaveBeenMissed() => Interlocked.Increment(ref _version);
}
