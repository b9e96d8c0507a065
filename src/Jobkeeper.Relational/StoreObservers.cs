using Jobkeeper.Storage;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Relational;

/// <summary>
/// A store's observers, told of each commit on the writer right after it and before its writers are answered (see
/// <see cref="IJobStoreObserver"/>). One that throws is logged; the others are told all the same.
/// </summary>
internal sealed class StoreObservers(IEnumerable<IJobStoreObserver> observers, ILogger logger)
{
    public IJobStoreObserver[] All { get; } = observers.ToArray();

    /// <param name="changes">What one transaction committed, in commit order.</param>
    /// <param name="eventsByFeed">
    /// A shared store gives live streams (<see cref="IJobFeedObserver"/>) their events through the feed only, in id order
    /// with every other instance's; their changes here then carry none, so each event arrives once.
    /// </param>
    public void Publish(IReadOnlyList<CommittedChange> changes, bool eventsByFeed, Queues.QueueFlowSnapshot? flow = null)
    {
        if (changes.Count == 0)
        {
            return;
        }

        IReadOnlyList<CommittedChange>? withoutEvents = null;
        foreach (var observer in All)
        {
            try
            {
                observer.JobsCommitted(eventsByFeed && observer is IJobFeedObserver
                    ? withoutEvents ??= changes.Select(c => c with { Events = [] }).ToArray()
                    : changes);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Store observer {Observer} failed", observer.GetType().Name);
            }
        }

        if (flow is not null && Queues.QueueFlowSignals.FreedTypes(changes, flow) is { Count: > 0 } freed)
        {
            ChangedElsewhere([], freed);
        }
    }

    /// <summary>Tells every observer of changes they did not see committed here (another instance's, or a queue's settings).</summary>
    public void ChangedElsewhere(IReadOnlyList<JobVersion> changes, IReadOnlyCollection<string> queuedTypes)
    {
        foreach (var observer in All)
        {
            try
            {
                observer.JobsChangedElsewhere(changes, queuedTypes);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Store observer {Observer} failed", observer.GetType().Name);
            }
        }
    }
}
