using Jobkeeper.Model;

namespace Jobkeeper.Storage;

/// <summary>
/// Told of every committed change, in commit order, on the store's writer right after the commit and
/// before the writers are answered. Must be quick and must not throw.
/// </summary>
public interface IJobStoreObserver
{
    void JobsCommitted(IReadOnlyList<CommittedChange> changes);

    /// <summary>
    /// A shared store learned that another instance committed these versions, and queued jobs of
    /// <paramref name="queuedTypes"/>. Called as soon as it is known, so nothing stale is served in between. The new
    /// states follow through <see cref="JobsCommitted"/> only for the jobs an observer asked for (<see cref="WantsStateOf"/>).
    /// </summary>
    void JobsChangedElsewhere(IReadOnlyList<JobVersion> changes, IReadOnlyCollection<string> queuedTypes)
    {
    }

    /// <summary>Whether this observer needs the new state of a job changed elsewhere (reading it costs a query).</summary>
    bool WantsStateOf(string jobId) => false;

    /// <summary>A shared store may have missed changes made elsewhere (its notifications were interrupted): forget what may be stale.</summary>
    void ChangesMayHaveBeenMissed()
    {
    }
}

/// <summary>
/// Observers that want the events of every instance in event id order (live streams) implement this as well. A
/// shared store then sends them events only through <see cref="FeedCommitted"/> (its <c>JobsCommitted</c> changes
/// carry none), so each event arrives once and in order; a single-instance store keeps using <c>JobsCommitted</c>.
/// </summary>
public interface IJobFeedObserver
{
    /// <summary>Events committed anywhere, in id order, each with its job's type and status right after it.</summary>
    void FeedCommitted(IReadOnlyList<FeedEvent> events);

    /// <summary>False while nobody listens: the store then skips reading events (a stream that starts later replays from the table).</summary>
    bool WantsFeed { get; }
}

/// <summary>One committed change of one job: its new state (null when deleted) and the events appended.</summary>
public sealed record CommittedChange(string JobId, Job? Job, IReadOnlyList<JobEvent> Events);

/// <summary>A job's version after a change made elsewhere; <see cref="Deleted"/> when the job is gone.</summary>
public readonly record struct JobVersion(string JobId, long Version)
{
    public bool Deleted => Version <= 0;
}

/// <summary>
/// A store shared by several instances, where another instance may have changed a job this one has in memory.
/// Notifications from the other instances keep the cache close, but only the store knows for certain, so a
/// cached copy is served only after the store confirmed it is still current (a cheap check, no row to decode).
/// </summary>
public interface ISharedJobStore : IJobStore
{
    /// <summary>Whether the job is still at <paramref name="version"/> in the store.</summary>
    ValueTask<bool> IsCurrentAsync(string id, long version, CancellationToken cancellationToken);

    /// <summary>
    /// A lock of this database for electing the one instance that runs maintenance; it opens whatever holds it
    /// (a connection of its own) only when first tried.
    /// </summary>
    Maintenance.IMaintenanceLock CreateMaintenanceLock();
}
